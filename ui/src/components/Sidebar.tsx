import { useEffect, useState } from "react";
import { Icon } from "./Icon";
import { createPortal } from "react-dom";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../bridge";
import { useTeams, useViews } from "../data";
import type { Counts, CustomView, Folder, ViewRef } from "../generated/outpost";
import { FOLDERS, type Place } from "../lib/place";
import { ViewEditor } from "./ViewEditor";


function sameView(a: ViewRef, b: ViewRef): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function Sidebar({
  counts,
  place,
  onPlace,
  bridge,
  me,
  admin,
}: {
  counts: Counts | null;
  place: Place;
  onPlace: (p: Place) => void;
  bridge: Bridge;
  me: string;
  /** Whether the agent is an owner or admin: the Admin area is theirs. */
  admin: boolean;
}) {
  const { t } = useTranslation();
  const teams = useTeams(bridge).data ?? [];
  /** The custom views, undefined until first read. */
  const views = useViews(bridge).data;
  /** The view being edited: null for none, "new" for a new one. */
  const [editing, setEditing] = useState<CustomView | "new" | null>(null);
  // The view shown was deleted (here, or by its owner elsewhere): back to All.
  useEffect(() => {
    if (views === undefined || place.kind !== "view" || place.view.type !== "custom") return;
    const id = place.view.id;
    if (!views.some((v) => v.id === id)) onPlace({ kind: "view", view: { type: "all" } });
  }, [views, place, onPlace]);
  const viewCount = (v: ViewRef) => counts?.views.find((c) => sameView(c.view, v));
  const folderCount = (f: Folder) => counts?.folders.find(([g]) => g === f)?.[1] ?? 0;
  const viewItem = (v: ViewRef, label: string, custom?: CustomView) => {
    const c = viewCount(v);
    const current = place.kind === "view" && sameView(place.view, v);
    return (
      <li key={JSON.stringify(v)}>
        <button type="button" aria-current={current ? "page" : undefined} onClick={() => onPlace({ kind: "view", view: v })}>
          <span className="label">{label}</span>
          {c?.dot && <span className="new-dot" role="img" aria-label={t("conversation.newMessages")} />}
          {c && c.open > 0 && <span className="count">{c.open}</span>}
        </button>
        {custom && custom.owner === me && (
          <button type="button" className="edit" aria-label={`${t("viewEditor.edit")}: ${custom.name}`} onClick={() => setEditing(custom)}><Icon name="edit" /></button>
        )}
      </li>
    );
  };
  return (
    <nav className="sidebar" aria-label={t("views.title")}>
      <div className="brand">Outpost</div>
      <h2>{t("views.title")}</h2>
      <ul>
        {viewItem({ type: "all" }, t("views.all"))}
        {viewItem({ type: "mine" }, t("views.mine"))}
        {viewItem({ type: "unassigned" }, t("views.unassigned"))}
      </ul>
      {teams.length > 0 && (
        <>
          <h2>{t("views.teams")}</h2>
          <ul>{teams.map((team) => viewItem({ type: "team", id: team.id }, team.name))}</ul>
        </>
      )}
      <h2 className="with-action">
        {t("views.custom")}
        <button type="button" className="add" aria-label={t("viewEditor.new")} onClick={() => setEditing("new")}><Icon name="add" /></button>
      </h2>
      <ul>{(views ?? []).map((v) => viewItem({ type: "custom", id: v.id }, v.name, v))}</ul>
      <h2>{t("folders.title")}</h2>
      <ul>
        {FOLDERS.map((f) => {
          const n = folderCount(f);
          const current = place.kind === "folder" && place.folder === f;
          return (
            <li key={f}>
              <button type="button" aria-current={current ? "page" : undefined} onClick={() => onPlace({ kind: "folder", folder: f })} className={f === "failed" && n > 0 ? "alarm" : undefined}>
                <span className="label">{t(`folders.${f}`)}</span>
                {n > 0 && <span className="count">{n}</span>}
              </button>
            </li>
          );
        })}
        <li key="calls">
          <button type="button" aria-current={place.kind === "calls" ? "page" : undefined} onClick={() => onPlace({ kind: "calls" })}>
            <span className="label">{t("folders.calls")}</span>
            {(counts?.calls ?? 0) > 0 && <span className="count">{counts?.calls}</span>}
          </button>
        </li>
      </ul>
      {admin && (
        <ul className="admin-link">
          <li>
            <button type="button" aria-current={place.kind === "admin" ? "page" : undefined} onClick={() => onPlace({ kind: "admin" })}>
              <span className="label">{t("admin.title")}</span>
            </button>
          </li>
        </ul>
      )}
      {editing &&
        createPortal(
          <ViewEditor bridge={bridge} me={me} teams={teams} view={editing === "new" ? null : editing} onClose={() => setEditing(null)} />,
          document.body,
        )}
    </nav>
  );
}
