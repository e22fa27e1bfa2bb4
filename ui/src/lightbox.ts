/**
 * The enlarged view of a preview image: a click on the image drawn on a node opens it over the
 * canvas at the largest size that fits; a click outside the arrows or Escape closes it. For a
 * list (a gallery), ‹ › and the arrow keys step through its images.
 */
export function openLightbox(sources: string | readonly string[], caption: string, start = 0): HTMLElement {
  closeLightbox();
  const srcs = typeof sources === 'string' ? [sources] : sources;
  let index = Math.max(0, Math.min(srcs.length - 1, start));
  const box = document.createElement('div');
  box.id = 'lightbox';
  const img = Object.assign(document.createElement('img'), { alt: caption });
  const text = Object.assign(document.createElement('div'), { className: 'caption' });
  const show = (i: number) => {
    index = (i + srcs.length) % srcs.length;
    img.src = srcs[index]!;
    box.dataset.index = String(index);
    text.textContent = srcs.length > 1 ? `${caption} — ${index + 1} of ${srcs.length} (← → to step; click or Esc to close)` : `${caption} — click or Esc to close`;
  };
  box.append(img, text);
  if (srcs.length > 1) {
    for (const [cls, label, step] of [['prev', '‹', -1], ['next', '›', 1]] as const) {
      const b = Object.assign(document.createElement('button'), { className: `lb-${cls}`, textContent: label, title: step < 0 ? 'Previous image (←)' : 'Next image (→)' });
      b.addEventListener('click', (e) => {
        e.stopPropagation();
        show(index + step);
      });
      box.append(b);
    }
  }
  (box as HTMLElement & { step?: (d: number) => void }).step = (d) => show(index + d);
  show(index);
  box.addEventListener('click', closeLightbox);
  document.body.append(box);
  return box;
}

export function closeLightbox(): void {
  document.getElementById('lightbox')?.remove();
}

document.addEventListener('keydown', (e) => {
  const box = document.getElementById('lightbox') as (HTMLElement & { step?: (d: number) => void }) | null;
  if (!box) return;
  if (e.key === 'Escape') closeLightbox();
  else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
    e.preventDefault();
    box.step?.(e.key === 'ArrowRight' ? 1 : -1);
  }
});
