import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../bridge";
import { useCalls, useChannels } from "../data";
import type { CallFilter, CallOutcome, Direction } from "../generated/outpost";
import { callIcon, callOutcome } from "../lib/calls";
import { when } from "../lib/format";
import { useNow } from "../lib/now";
import { phrase } from "../lib/reasons";
import { Avatar } from "./Avatar";
import { EmptyState } from "./EmptyState";
import { Failure } from "./Failure";
import { Icon } from "./Icon";

/** Pixels from the end within which the next page is read. */
const NEAR_END_PX = 800;
const OUTCOMES: CallOutcome[] = ["answered", "missed", "failed", "ongoing"];

/**
 * The Calls folder: every call of the conversations the agent sees, newest first (contact,
 * channel, direction, when, how long or missed), filtered by direction, outcome and contact. A
 * click opens the conversation at the call. Outpost records calls; they are answered in the
 * provider's own tools, as the screen says.
 */
export function CallsView({ bridge, onOpenCall }: { bridge: Bridge; onOpenCall: (conversation: string, call: string) => void }) {
  const { t, i18n } = useTranslation();
  const [direction, setDirection] = useState<Direction | "">("");
  const [outcome, setOutcome] = useState<CallOutcome | "">("");
  const [contact, setContact] = useState("");
  const filter: CallFilter = useMemo(
    () => ({ direction: direction || null, outcome: outcome || null, contact: contact.trim() || null }),
    [direction, outcome, contact],
  );
  const page = useCalls(bridge, filter);
  const { channelName } = useChannels(bridge);
  const rows = useMemo(() => page.data?.pages.flatMap((p) => p.rows) ?? [], [page.data]);
  const more = page.hasNextPage;
  const now = useNow();
  const filtered = direction !== "" || outcome !== "" || contact.trim() !== "";
  return (
    <section
      className="folder calls"
      aria-label={t("folders.calls")}
      aria-busy={page.isFetchingNextPage}
      onScroll={(e) => {
        const box = e.currentTarget;
        if (more && !page.isFetchingNextPage && box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_END_PX) void page.fetchNextPage();
      }}
    >
      <h1>{t("folders.calls")}</h1>
      <p className="hint">{t("calls.where")}</p>
      <div className="calls-filter" role="search">
        <label>
          <span className="visually-hidden">{t("calls.direction.label")}</span>
          <select value={direction} onChange={(e) => setDirection(e.target.value as Direction | "")}>
            <option value="">{t("calls.direction.any")}</option>
            <option value="incoming">{t("calls.direction.incoming")}</option>
            <option value="outgoing">{t("calls.direction.outgoing")}</option>
          </select>
        </label>
        <label>
          <span className="visually-hidden">{t("calls.outcome.label")}</span>
          <select value={outcome} onChange={(e) => setOutcome(e.target.value as CallOutcome | "")}>
            <option value="">{t("calls.outcome.any")}</option>
            {OUTCOMES.map((o) => <option key={o} value={o}>{t(`calls.outcome.${o}`)}</option>)}
          </select>
        </label>
        <input type="search" value={contact} placeholder={t("calls.contact")} aria-label={t("calls.contact")} onChange={(e) => setContact(e.target.value)} />
      </div>
      <Failure error={page.error} />
      {page.isPending ? null : rows.length === 0 ? (
        <EmptyState icon="callIncoming" title={filtered ? t("calls.noneFound") : t("calls.empty")} hint={filtered ? t("calls.noneFoundHint") : t("calls.emptyHint")} />
      ) : (
        <ul className="messages call-list">
          {rows.map(({ call, contact_name }) => {
            const why = call.outcome === "failed" ? phrase(call.failure_reason, call.failure ?? "") : "";
            return (
              <li key={call.id} className={`folder-row call-row ${call.outcome} ${call.direction}`}>
                <button type="button" className="open" onClick={() => onOpenCall(call.conversation_id, call.id)}>
                  <Avatar name={contact_name} channel={call.channel} />
                  <span className="who" dir="auto">{contact_name}</span>
                  <span className="channel">{channelName(call.channel, call.channel_id)}</span>
                  <span className="direction" title={t(`calls.direction.${call.direction}`)}>
                    <Icon name={callIcon(call)} />
                    <span>{t(`calls.direction.${call.direction}`)}</span>
                  </span>
                  <span className={`outcome ${call.outcome}`}>{callOutcome(call, t)}</span>
                  <time dateTime={new Date(call.started_at).toISOString()}>{when(call.started_at, now, i18n.language)}</time>
                </button>
                {why && <span className="reason">{t("folder.why")}: {why}</span>}
              </li>
            );
          })}
          {more && (
            <li className="folder-more">
              <button type="button" disabled={page.isFetchingNextPage} onClick={() => void page.fetchNextPage()}>
                {t("calls.more")}
              </button>
            </li>
          )}
        </ul>
      )}
    </section>
  );
}
