// The interface's icons: lucide's (drawn as SVG, so no emoji font is needed), by the names the
// interface uses. Decorative: the button or text beside an icon says what it does.
import {
  Archive,
  CalendarClock,
  CircleCheck,
  Hourglass,
  Inbox,
  MessagesSquare,
  SearchX,
  Send,
  Workflow,
  ArchiveArrowUp,
  AudioLines,
  Clock,
  FaceSlightlySmiling,
  FileText,
  Image,
  Link,
  Paperclip,
  Pencil,
  Plus,
  Reply,
  SquarePen,
  Trash,
  Undo2,
  Video,
  PhoneIncoming,
  PhoneMissed,
  PhoneOutgoing,
  X,
  Zap,
  type LucideIcon,
} from "lucide-react";

const ICONS = {
  clip: Paperclip,
  document: FileText,
  image: Image,
  audio: AudioLines,
  video: Video,
  emoji: FaceSlightlySmiling,
  quickReplies: Zap,
  schedule: Clock,
  reply: Reply,
  remove: X,
  edit: Pencil,
  write: SquarePen,
  archive: Archive,
  restore: ArchiveArrowUp,
  delete: Trash,
  link: Link,
  add: Plus,
  undo: Undo2,
  inbox: Inbox,
  flows: Workflow,
  outbox: Hourglass,
  sent: Send,
  scheduled: CalendarClock,
  done: CircleCheck,
  conversations: MessagesSquare,
  noResults: SearchX,
  callIncoming: PhoneIncoming,
  callOutgoing: PhoneOutgoing,
  callMissed: PhoneMissed,
} satisfies Record<string, LucideIcon>;

export type IconName = keyof typeof ICONS;

export function Icon({ name }: { name: IconName }) {
  const Drawn = ICONS[name];
  return <Drawn className="icon" aria-hidden="true" focusable="false" strokeWidth={2} />;
}
