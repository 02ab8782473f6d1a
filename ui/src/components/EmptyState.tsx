import { Icon, type IconName } from "./Icon";

/** What a screen with nothing to show says: what would be here, and how it gets here. */
export function EmptyState({ icon, title, hint, className = "", query }: { icon: IconName; title: string; hint?: string; className?: string; /** The search it answers. */ query?: string }) {
  return (
    <div className={`empty-state ${className}`.trim()} data-query={query}>
      <span className="empty-icon" aria-hidden="true">
        <Icon name={icon} />
      </span>
      <p className="empty-title">{title}</p>
      {hint && <p className="empty-hint">{hint}</p>}
    </div>
  );
}
