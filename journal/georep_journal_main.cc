// georep-journal: inspect a brick's georep journal (see journal/dump.h).
#include "journal/dump.h"

int main(int argc, char** argv) { return georep::journal::RunJournalTool(argc - 1, argv + 1); }
