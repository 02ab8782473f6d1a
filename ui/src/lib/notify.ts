/** Minutes after midnight as an <input type=time> value ("22:00"). */
export function toTime(minutes: number): string {
  const h = Math.floor(minutes / 60) % 24;
  const m = minutes % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

/** An <input type=time> value as minutes after midnight (0 for anything unreadable). */
export function fromTime(value: string): number {
  const m = /^(\d{1,2}):(\d{2})/.exec(value);
  if (!m) return 0;
  return Math.min(23, Number(m[1])) * 60 + Math.min(59, Number(m[2]));
}

/** "Do not disturb" for an hour, for the rest of the working day (until 18:00), or until tomorrow 08:00. */
export function dndPresets(now: Date): { key: "hour" | "evening" | "tomorrow"; until: number }[] {
  const evening = new Date(now);
  evening.setHours(18, 0, 0, 0);
  const tomorrow = new Date(now);
  tomorrow.setDate(tomorrow.getDate() + 1);
  tomorrow.setHours(8, 0, 0, 0);
  const presets: { key: "hour" | "evening" | "tomorrow"; until: number }[] = [{ key: "hour", until: now.getTime() + 3_600_000 }];
  if (evening.getTime() > now.getTime() + 3_600_000) presets.push({ key: "evening", until: evening.getTime() });
  presets.push({ key: "tomorrow", until: tomorrow.getTime() });
  return presets;
}
