import { useEffect, useEffectEvent, useRef, type ReactNode } from "react";

/**
 * A modal dialog (WAI-ARIA's dialog pattern): focus moves into it (to the element marked
 * `data-autofocus`, else the first field or button) and back to where it was on close; Escape
 * closes it, and so does a click on the dimmed backdrop. The dialog's own markup (a form, a
 * figure…) is the child; `labelledBy` names the heading that titles it, or `label` the title.
 */
export function Modal({
  onClose,
  labelledBy,
  label,
  backdrop,
  children,
}: {
  onClose: () => void;
  labelledBy?: string;
  label?: string;
  /** A class for the backdrop (the image viewer's is darker). */
  backdrop?: string;
  children: ReactNode;
}) {
  const frame = useRef<HTMLDivElement>(null);
  const close = useEffectEvent(onClose);
  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const first =
      frame.current?.querySelector<HTMLElement>("[data-autofocus]") ??
      frame.current?.querySelector<HTMLElement>("input:not([type=hidden]), select, textarea, button");
    // The dialog opens at its top, whichever field takes the focus.
    first?.focus({ preventScroll: true });
    const esc = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      // Only this dialog closes (not a view behind it that also listens for Escape).
      e.stopPropagation();
      close();
    };
    window.addEventListener("keydown", esc, true);
    return () => {
      window.removeEventListener("keydown", esc, true);
      before?.focus();
    };
  }, []);
  return (
    // The backdrop's click is the pointer's Escape (handled above for the keyboard), so it needs no
    // key handler or role of its own.
    // eslint-disable-next-line jsx-a11y/no-static-element-interactions
    <div className={backdrop ? `overlay ${backdrop}` : "overlay"} onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={frame} className="dialog-frame" role="dialog" aria-modal="true" aria-labelledby={labelledBy} aria-label={label}>
        {children}
      </div>
    </div>
  );
}
