import { useCallback, useState } from "react";
import { ask, peek, type Bridge } from "../bridge";
import { useLoad } from "./prefetched";
import type { Agent } from "../generated/outpost";
import { useEvents } from "./events";

/** The workspace's agents, kept current; `name(id)` for showing who. */
export function useAgents(bridge: Bridge) {
  const [first] = useState(() => peek(bridge, { type: "list_agents" }, "agents")?.agents);
  const [agents, setAgents] = useState<Agent[]>(first ?? []);
  const load = useCallback(async () => {
    setAgents((await ask(bridge, { type: "list_agents" }, "agents")).agents);
  }, [bridge]);
  useLoad(bridge, load, first !== undefined);
  useEvents(bridge, (e) => {
    if (e.type === "changed" && e.agents) void load();
  });
  const name = useCallback((id: string | null) => (id === null ? null : agents.find((a) => a.id === id)?.name ?? null), [agents]);
  return { agents, name };
}
