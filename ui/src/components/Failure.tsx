import { BridgeError } from "../bridge";

/** Why something could not be read or done, where it would have been (one look everywhere). */
export function Failure({ error, className = "error" }: { error: unknown; className?: string }) {
  if (error === null || error === undefined) return null;
  return (
    <p role="alert" className={className}>
      {describe(error)}
    </p>
  );
}

/** An error's sentence for the agent. */
export function describe(error: unknown): string {
  if (error instanceof BridgeError || error instanceof Error) return error.message;
  return String(error);
}
