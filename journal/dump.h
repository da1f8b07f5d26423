// The journal inspection tool behind `georep-journal` (and later `georep
// journal ...`): argv[0] is the subcommand ("dump" or "consumers"), the rest
// its arguments, so a dispatcher passes the tail of its own argv, e.g.
// `georep journal dump /b` -> RunJournalTool(2, {"dump", "/b"}).
//
//   dump <brick-path> [--from SEQ] [--follow] [--json]
//       one line per record (or one JSON object per line), '#' lines for
//       segment headers, gaps and the final corruption summary. In JSON,
//       strings that are not valid UTF-8 (file names are bytes) are given
//       as "hex:<hex digits>"; events are {"event":"segment"|"gap"|"summary"}.
//   consumers <brick-path>
//       registered consumers, their cursors and resync markers.
//
// Exit status: 0 clean, 1 error, 2 usage, 3 the journal has gaps or damage.
#pragma once

namespace georep::journal {

int RunJournalTool(int argc, char** argv);
int RunJournalDump(int argc, char** argv);
int RunJournalConsumers(int argc, char** argv);

}  // namespace georep::journal
