import { useId, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Modal } from "./Modal";

/** One thing the palette can do: its name, its group, its shortcut if it has one. */
export type Command = {
  id: string;
  label: string;
  group: string;
  /** The keys that do it without the palette ("J", "Ctrl+Z"). */
  keys?: string;
  run: () => void;
};

/** Lower case, without accents: "Atribuída" is found by "atribuida". */
const fold = (s: string) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();

/** The commands whose name (or group) holds every word typed; names beginning with it first. */
export function matching(commands: Command[], query: string): Command[] {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return commands;
  const hits = commands.filter((c) => {
    const hay = fold(`${c.label} ${c.group}`);
    return words.every((w) => hay.includes(w));
  });
  const first = words[0]!;
  return hits.sort((a, b) => Number(!fold(a.label).startsWith(first)) - Number(!fold(b.label).startsWith(first)));
}

/**
 * The command palette (Ctrl/Cmd+K): every action and view by name, with its shortcut shown.
 * A combobox over a listbox: arrows move, Enter runs, Escape closes.
 */
export function Palette({ commands, onClose }: { commands: Command[]; onClose: () => void }) {
  const { t } = useTranslation();
  const [query, setQuery] = useState("");
  const [at, setAt] = useState(0);
  const list = useId();
  const shown = useMemo(() => matching(commands, query), [commands, query]);
  const active = shown[Math.min(at, shown.length - 1)];
  const run = (c: Command | undefined) => {
    if (!c) return;
    onClose();
    c.run();
  };
  return (
    <Modal onClose={onClose} label={t("palette.title")}>
      <div className="dialog palette">
        <input
          data-autofocus
          role="combobox"
          aria-expanded="true"
          aria-controls={list}
          aria-activedescendant={active ? `${list}-${active.id}` : undefined}
          aria-label={t("palette.title")}
          placeholder={t("palette.placeholder")}
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setAt(0);
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setAt((n) => Math.min(n + 1, shown.length - 1));
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              setAt((n) => Math.max(n - 1, 0));
            } else if (e.key === "Enter") {
              e.preventDefault();
              run(active);
            }
          }}
        />
        <div id={list} role="listbox" aria-label={t("palette.title")}>
          {shown.map((c) => (
            // Chosen with the pointer too; the keyboard's way is the combobox above.
            // eslint-disable-next-line jsx-a11y/click-events-have-key-events
            <div
              key={c.id}
              id={`${list}-${c.id}`}
              role="option"
              tabIndex={-1}
              aria-selected={c === active}
              onClick={() => run(c)}
              onMouseMove={() => setAt(shown.indexOf(c))}
            >
              <span className="label">{c.label}</span>
              <span className="group">{c.group}</span>
              {c.keys && <kbd>{c.keys}</kbd>}
            </div>
          ))}
        </div>
        {shown.length === 0 && <p className="none">{t("palette.none")}</p>}
      </div>
    </Modal>
  );
}
