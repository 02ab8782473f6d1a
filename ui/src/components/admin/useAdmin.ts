import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Bridge } from "../../bridge";
import { admin, keys } from "../../data";
import type { AdminAnswer, AdminCall } from "../../generated/outpost";
import { describe } from "../../lib/reasons";

/**
 * Runs admin calls one at a time: `busy` while one runs, `problem` says why the last one was
 * refused, and what the Admin area and the mirror show is read again after each.
 */
export function useAdminCall(bridge: Bridge) {
  const data = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const call = async (c: AdminCall): Promise<AdminAnswer | null> => {
    setBusy(true);
    setProblem(null);
    try {
      const answer = await admin(bridge, c);
      await data.invalidateQueries({ queryKey: keys.admin });
      return answer;
    } catch (e) {
      setProblem(describe(e));
      return null;
    } finally {
      setBusy(false);
    }
  };
  return { call, busy, problem };
}
