/* The socksify command: the contracts between its parts. socksify.c reads the options and the
 * configuration, progcheck.c decides whether the preloaded library can enter the program,
 * session_dir.c makes the session's private directory (the shared map, the -x URL), session.c runs the program and stays its
 * parent, libpath.c knows where the libraries are (fixed when the command is built), and
 * supervisor.h's files carry through seccomp user notification the programs the library cannot enter.
 * Unlike core/, this is a command: its parts may print to stderr, and they return -errno. */
#ifndef SOCKSIFY_COMMAND_H
#define SOCKSIFY_COMMAND_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct config;

/* ---- socksify.c ---- */

/* Prints the configuration's warnings to stderr, one "socksify: warning: ..." line each. */
void command_print_warnings(const struct config *c);

/* ---- shell.c ---- */

/* Whether word, the first after `socksify`, is a shell subcommand: on, off, status. */
bool shell_is_subcommand(const char *word);
/* Runs the subcommand argv[0] (on: prints the shell code that turns the calling shell on, off:
 * the code that undoes it, status: what is on); returns the exit status (2 after a message). */
int shell_main(int argc, char **argv);

/* ---- libpath.c ---- */

/* The library preloaded into programs of the command's own architecture: from $SOCKSIFY_LIB if set
 * (the sanitizer runs use it), else from the paths the Makefile compiled in; NULL if it cannot be
 * named. */
const char *libpath_library(void);
/* The library for programs of ELF class elf_class (ELFCLASS32/64) and machine (EM_*): its path, or
 * NULL if this installation has none for them (then the loader would skip it, and the program
 * would run without socksify). A library that the build knows of but that is missing is NULL too. */
const char *libpath_for(int elf_class, int machine);
/* What the command appends to LD_PRELOAD: the library's path with the loader's $LIB token in it,
 * so that each program (and each program it runs) gets the library of its own class. */
const char *libpath_preload_entry(void);

/* ---- progcheck.c ---- */

/* What program_check found out; why is one line for "socksify: ..." when it refuses. */
struct program_check {
    bool supervised;         /* in: the seccomp supervisor carries what the library cannot enter */
    bool run_with_sh;        /* neither ELF nor "#!": execvp would run it with /bin/sh, so do we */
    bool privileged;         /* refused as set-user-ID, set-group-ID or with file capabilities */
    char path[PATH_MAX];     /* the file to execute, found as execvp(3) finds it */
    char subject[2 * PATH_MAX + 32];   /* internal: how why names the file being read */
    char why[2 * PATH_MAX + 1024];
};

/* Finds name as execvp(3) would (PATH when it holds no '/') and reads what will run: the ELF
 * header, or a "#!" script's interpreter (and the program `#!/usr/bin/env NAME` names). Returns 0
 * if the library can enter it; -ENOENT if there is no such program, -EACCES if it cannot be run
 * (both like a shell: the caller exits 127/126); -EPERM if the library cannot enter it (statically
 * linked, Go, an ELF class or architecture with no library, set-user-ID or set-group-ID or file
 * capabilities that make the loader drop LD_PRELOAD), with the reason and the remedy in out->why;
 * with out->supervised set, only for the privileges (out->privileged). out starts zeroed (static):
 * it is 21 KiB, and clearing it would be a page fault per page at every start. */
int program_check(const char *name, struct program_check *out);

/* ---- session_dir.c ---- */

/* Makes the session's directory (mode 0700) under $XDG_RUNTIME_DIR, else /tmp; its path in dir
 * (PATH_MAX). 0 or -errno. */
int session_dir_create(char *dir);
/* Writes url and a newline to a new file "proxy" (mode 0600) in dir; its path in file (PATH_MAX).
 * 0 or -errno (no file is left then). */
int session_dir_put_url(const char *dir, const char *url, char *file);
/* Removes dir and every file in it (dir may be empty: nothing to do). */
void session_dir_remove(const char *dir);

/* ---- session.c ---- */

/* What the session runs: the program's file, its argv (argv[0] as given), and the directory to
 * remove when it ends (empty if none). */
struct supervisor;
struct session {
    const char *path;
    char *const *argv;
    bool run_with_sh;
    const char *session_dir;
    struct supervisor *supervisor;   /* the seccomp supervisor (supervisor.h), NULL for the library alone */
};

/* Starts the program as our child, in our process group, and stays its parent until it ends:
 * signals sent to the command are passed on, the command stops when the program stops (job
 * control) and continues it when continued, and the session directory is removed when it ends.
 * Returns the exit status for the command: the program's, or 128+N if signal N ended it; or
 * -errno if it could not be started (nothing ran, the directory is removed). */
int session_run(const struct session *s);

/* Handles one signal sig (si: who sent it) that the session's parent took while the program runs:
 * follows the program's stops, passes on what others sent. 1 with the command's exit status in
 * *status once the program has ended, else 0. */
int session_on_signal(pid_t child, int sig, const siginfo_t *si, int *status);

#endif
