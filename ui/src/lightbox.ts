/**
 * The enlarged view of a preview image: a click on the image drawn on a node opens it over the
 * canvas at the largest size that fits; a click anywhere or Escape closes it.
 */
export function openLightbox(src: string, caption: string): HTMLElement {
  closeLightbox();
  const box = document.createElement('div');
  box.id = 'lightbox';
  const img = Object.assign(document.createElement('img'), { src, alt: caption });
  const text = Object.assign(document.createElement('div'), { className: 'caption', textContent: `${caption} — click or Esc to close` });
  box.append(img, text);
  box.addEventListener('click', closeLightbox);
  document.body.append(box);
  return box;
}

export function closeLightbox(): void {
  document.getElementById('lightbox')?.remove();
}

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') closeLightbox();
});
