/**
 * Runs `then` once the frame showing the current DOM is on the display: the first animation
 * frame runs before that frame is painted, the second before the next one, so after the paint.
 */
export function afterPaint(then: () => void): void {
  requestAnimationFrame(() => requestAnimationFrame(then));
}
