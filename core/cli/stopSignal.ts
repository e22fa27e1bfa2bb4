/**
 * Resolves on the first SIGINT or SIGTERM (the long-running commands' graceful stop). With
 * `onSecond`, a second signal calls it (the impatient stop) instead of the default exit.
 */
export function stopSignal(onSecond?: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (onSecond) {
        process.once('SIGINT', onSecond);
        process.once('SIGTERM', onSecond);
      }
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
