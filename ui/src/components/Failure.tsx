import { describe } from "../lib/reasons";

/** Why something could not be read or done, where it would have been (one look everywhere). */
export function Failure({ error, className = "error" }: { error: unknown; className?: string }) {
  if (error === null || error === undefined) return null;
  return (
    <p role="alert" className={className}>
      {describe(error)}
    </p>
  );
}
