import { Icon, type IconName } from "./Icon";

/** What a screen with nothing to show says: what would be here, and how it gets here. */
export function EmptyState({ icon, title, hint, className = "" }: { icon: IconName; title: string; hint?: string; className?: string }) {
  return (
    <div className={`empty-state ${className}`.trim()}>
      <span className="empty-icon" aria-hidden="true">
        <Icon name={icon} />
      </span>
      <p className="empty-title">{title}</p>
      {hint && <p className="empty-hint">{hint}</p>}
    </div>
  );
}
