import { useState, type FormEvent } from "react";
import { Icon } from "./Icon";
import { useTranslation } from "react-i18next";
import { Modal } from "./Modal";
import { ask, type Bridge } from "../bridge";
import { describe } from "../lib/reasons";
import type { ChannelKind, Condition, ContactField, CustomView, Team, TextOp } from "../generated/outpost";
import { CHANNEL_LABEL } from "../lib/format";
import { uuidv7 } from "../lib/ids";

const FIELDS: ContactField[] = ["name", "phone", "email", "country", "language"];
const OPS: TextOp[] = ["is", "is_not", "contains", "starts_with", "is_set", "is_not_set"];
const CHANNELS = Object.keys(CHANNEL_LABEL) as ChannelKind[];
type Kind = Condition["type"];

function blank(kind: Kind): Condition {
  switch (kind) {
    case "all":
    case "any":
      return { type: kind, of: [blank("contact")] };
    case "contact":
      return { type: "contact", field: "country", op: "is", value: "" };
    case "custom_field":
      return { type: "custom_field", key: "", op: "is", value: "" };
    case "tag":
      return { type: "tag", tag: "", present: true };
    case "last_channel":
      return { type: "last_channel", channels: ["whatsapp"] };
    case "since_last_incoming":
      return { type: "since_last_incoming", op: "more_than", minutes: 60 };
  }
}

/** One condition, or a group of them (any depth): the filter of a custom view. */
function ConditionEditor({ value, onChange, onRemove, depth }: { value: Condition; onChange: (c: Condition) => void; onRemove?: () => void; depth: number }) {
  const { t } = useTranslation();
  const kindSelect = (
    <select aria-label={t("viewEditor.kind")} value={value.type} onChange={(e) => onChange(blank(e.target.value as Kind))}>
      {(["contact", "tag", "last_channel", "since_last_incoming", "custom_field", "all", "any"] as Kind[]).map((k) => (
        <option key={k} value={k}>{t(`viewEditor.kinds.${k}`)}</option>
      ))}
    </select>
  );
  const remove = onRemove && (
    <button type="button" className="link" onClick={onRemove} aria-label={t("viewEditor.remove")}><Icon name="remove" /></button>
  );
  switch (value.type) {
    case "all":
    case "any": {
      const group = value;
      return (
        <fieldset className="group" data-depth={depth}>
          <legend>
            {kindSelect} {remove}
          </legend>
          {group.of.map((c, i) => (
            <ConditionEditor
              key={i}
              depth={depth + 1}
              value={c}
              onChange={(n) => onChange({ ...group, of: group.of.map((o, j) => (j === i ? n : o)) })}
              onRemove={group.of.length > 1 ? () => onChange({ ...group, of: group.of.filter((_, j) => j !== i) }) : undefined}
            />
          ))}
          <button type="button" className="link" onClick={() => onChange({ ...group, of: [...group.of, blank("contact")] })}>+ {t("viewEditor.add")}</button>
        </fieldset>
      );
    }
    case "contact":
      return (
        <div className="condition">
          {kindSelect}
          <select aria-label={t("viewEditor.field")} value={value.field} onChange={(e) => onChange({ ...value, field: e.target.value as ContactField })}>
            {FIELDS.map((f) => <option key={f} value={f}>{t(`contact.${f}`)}</option>)}
          </select>
          <select aria-label={t("viewEditor.op")} value={value.op} onChange={(e) => onChange({ ...value, op: e.target.value as TextOp })}>
            {OPS.map((o) => <option key={o} value={o}>{t(`viewEditor.ops.${o}`)}</option>)}
          </select>
          {value.op !== "is_set" && value.op !== "is_not_set" && (
            <input aria-label={t("viewEditor.value")} value={value.value} onChange={(e) => onChange({ ...value, value: e.target.value })} />
          )}
          {remove}
        </div>
      );
    case "custom_field":
      return (
        <div className="condition">
          {kindSelect}
          <input aria-label={t("viewEditor.key")} placeholder={t("viewEditor.key")} value={value.key} onChange={(e) => onChange({ ...value, key: e.target.value })} />
          <select aria-label={t("viewEditor.op")} value={value.op} onChange={(e) => onChange({ ...value, op: e.target.value as TextOp })}>
            {OPS.map((o) => <option key={o} value={o}>{t(`viewEditor.ops.${o}`)}</option>)}
          </select>
          <input aria-label={t("viewEditor.value")} value={value.value} onChange={(e) => onChange({ ...value, value: e.target.value })} />
          {remove}
        </div>
      );
    case "tag":
      return (
        <div className="condition">
          {kindSelect}
          <select aria-label={t("viewEditor.op")} value={value.present ? "has" : "lacks"} onChange={(e) => onChange({ ...value, present: e.target.value === "has" })}>
            <option value="has">{t("viewEditor.has")}</option>
            <option value="lacks">{t("viewEditor.lacks")}</option>
          </select>
          <input aria-label={t("viewEditor.value")} value={value.tag} onChange={(e) => onChange({ ...value, tag: e.target.value })} />
          {remove}
        </div>
      );
    case "last_channel":
      return (
        <div className="condition">
          {kindSelect}
          <select aria-label={t("viewEditor.channel")} value={value.channels[0] ?? "whatsapp"} onChange={(e) => onChange({ ...value, channels: [e.target.value as ChannelKind] })}>
            {CHANNELS.map((c) => <option key={c} value={c}>{CHANNEL_LABEL[c]}</option>)}
          </select>
          {remove}
        </div>
      );
    case "since_last_incoming":
      return (
        <div className="condition">
          {kindSelect}
          <select aria-label={t("viewEditor.op")} value={value.op} onChange={(e) => onChange({ ...value, op: e.target.value as "more_than" | "less_than" })}>
            <option value="more_than">{t("viewEditor.moreThan")}</option>
            <option value="less_than">{t("viewEditor.lessThan")}</option>
          </select>
          <input aria-label={t("viewEditor.minutes")} type="number" min={0} value={value.minutes} onChange={(e) => onChange({ ...value, minutes: Number(e.target.value) })} />
          <span>{t("viewEditor.minutesLabel")}</span>
          {remove}
        </div>
      );
  }
}

/** Creates or edits (renames, refilters, shares) a custom view; deletes it. */
export function ViewEditor({
  bridge,
  me,
  teams,
  view,
  onClose,
}: {
  bridge: Bridge;
  me: string;
  teams: Team[];
  view: CustomView | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const [name, setName] = useState(view?.name ?? "");
  const [filter, setFilter] = useState<Condition>(view?.filter ?? blank("all"));
  const [sharedTeams, setSharedTeams] = useState<string[]>(view?.sharing.teams ?? []);
  const [error, setError] = useState<string | null>(null);
  const act = async (action: Parameters<typeof bridge.request>[0]) => {
    setError(null);
    try {
      await ask(bridge, action, "acted");
      onClose();
    } catch (e) {
      setError(describe(e));
    }
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    const saved: CustomView = {
      id: view?.id ?? uuidv7(),
      name: name.trim(),
      owner: view?.owner ?? me,
      sharing: { agents: view?.sharing.agents ?? [], teams: sharedTeams },
      filter,
    };
    void act({ type: "act", action: { type: "save_view", view: saved } });
  };
  return (
    <Modal onClose={onClose} labelledBy="view-editor-title">
      <form className="dialog view-editor" onSubmit={save}>
        <h2 id="view-editor-title">{view ? t("viewEditor.edit") : t("viewEditor.new")}</h2>
        <label className="field">
          {t("viewEditor.name")}
          <input required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <ConditionEditor value={filter} onChange={setFilter} depth={0} />
        {teams.length > 0 && (
          <fieldset className="share">
            <legend>{t("viewEditor.share")}</legend>
            {teams.map((team) => (
              <label key={team.id} className="check">
                <input
                  type="checkbox"
                  checked={sharedTeams.includes(team.id)}
                  onChange={(e) => setSharedTeams(e.target.checked ? [...sharedTeams, team.id] : sharedTeams.filter((id) => id !== team.id))}
                />
                {team.name}
              </label>
            ))}
          </fieldset>
        )}
        {error && <p role="alert" className="error">{error}</p>}
        <div className="buttons">
          {view && (
            <button type="button" className="danger" onClick={() => void act({ type: "act", action: { type: "delete_view", view_id: view.id } })}>
              {t("viewEditor.delete")}
            </button>
          )}
          <span className="spacer" />
          <button type="button" onClick={onClose}>{t("viewEditor.cancel")}</button>
          <button type="submit" className="primary">{t("viewEditor.save")}</button>
        </div>
      </form>
    </Modal>
  );
}
