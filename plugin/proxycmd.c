/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ssh_config's ProxyCommand: the SSH connection runs over the standard
 * input and output of a command (typically "ssh -W %h:%p jumphost" or
 * "nc -X 5 -x socks:1080 %h %p"), started with /bin/sh as OpenSSH
 * does.  Our end of a socketpair is then the connection's socket, so
 * that polling, timeouts and the recv callback work as for TCP.  The
 * command is stopped and reaped when the connection closes.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "params.h"
#include "proxycmd.h"

/* In the child: the socket as stdin and stdout, nothing else open
 * beyond stderr, default signal handling, then the shell.  Only
 * async-signal-safe calls (the parent is multithreaded).
 */
static void __attribute__ ((noreturn))
run_child (int fd, const char *shell_cmd)
{
  sigset_t none;
  int maxfd, i;

  /* Default dispositions (ignored signals stay ignored across exec),
   * nothing blocked.
   */
  for (i = 1; i < NSIG; ++i)
    signal (i, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);

  if (fd < 3) {
    fd = fcntl (fd, F_DUPFD, 3);
    if (fd == -1)
      _exit (126);
  }
  if (dup2 (fd, 0) == -1 || dup2 (fd, 1) == -1)
    _exit (126);
#ifdef HAVE_CLOSE_RANGE
  if (close_range (3, ~0U, 0) == -1)
#endif
  {
    maxfd = (int) sysconf (_SC_OPEN_MAX);
    if (maxfd < 0 || maxfd > 1048576)
      maxfd = 1048576;
    for (i = 3; i < maxfd; ++i)
      close (i);
  }
  execl ("/bin/sh", "sh", "-c", shell_cmd, (char *) NULL);
  _exit (127);
}

int
proxy_command_open (struct ssh_conn *c)
{
  int sv[2];
  char *shell_cmd;
  pid_t pid;

  /* As OpenSSH: "exec" so that the shell does not linger. */
  if (asprintf (&shell_cmd, "exec %s", params->proxy_command) == -1) {
    ssh_error ("asprintf: %m");
    return -1;
  }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
    ssh_error ("ProxyCommand for %s: socketpair: %m", c->host);
    free (shell_cmd);
    return -1;
  }
  ssh_debug ("ProxyCommand for %s port %u: %s", c->host, c->port,
             params->proxy_command);
  pid = fork ();
  if (pid == -1) {
    ssh_error ("ProxyCommand for %s: fork: %m", c->host);
    close (sv[0]);
    close (sv[1]);
    free (shell_cmd);
    return -1;
  }
  if (pid == 0)
    run_child (sv[1], shell_cmd);
  free (shell_cmd);
  close (sv[1]);
  if (fcntl (sv[0], F_SETFL, O_NONBLOCK) == -1) {
    ssh_error ("ProxyCommand for %s: fcntl: %m", c->host);
    close (sv[0]);
    c->proxy_pid = pid;
    proxy_command_close (c);
    return -1;
  }
  c->sock = sv[0];
  c->proxy_pid = pid;
  return 0;
}

/* Wait up to ms milliseconds, in 10 ms steps, for pid to exit.
 * Returns 1 when reaped (*status set), 0 if it still runs, -1 if it
 * is not a child to wait for (already reaped elsewhere).
 */
static int
reap_within (pid_t pid, int ms, int *status)
{
  const struct timespec tick = { .tv_sec = 0, .tv_nsec = 10000000 };
  pid_t r;
  int i;

  for (i = 0; ; ++i) {
    r = waitpid (pid, status, WNOHANG);
    if (r == pid)
      return 1;
    if (r == -1 && errno != EINTR)
      return -1;
    if (i >= ms / 10)
      return 0;
    nanosleep (&tick, NULL);
  }
}

/* After a failure: if the command has exited, say how, and reap it.
 * Its end of the socket closes a moment before it can be reaped, so
 * wait up to 0.2 s.  Returns an empty string if it still runs.
 */
const char *
proxy_command_status (struct ssh_conn *c, char *buf, size_t len)
{
  int status;

  *buf = '\0';
  if (c->proxy_pid <= 0 || reap_within (c->proxy_pid, 200, &status) != 1)
    return buf;
  c->proxy_pid = 0;
  if (WIFEXITED (status))
    snprintf (buf, len, "ProxyCommand exited with status %d",
              WEXITSTATUS (status));
  else if (WIFSIGNALED (status))
    snprintf (buf, len, "ProxyCommand was killed by signal %d",
              WTERMSIG (status));
  return buf;
}

/* Stop the command (its socket is already closed, which ends most
 * commands by itself) and reap it: SIGTERM, up to 2 s, then SIGKILL.
 */
void
proxy_command_close (struct ssh_conn *c)
{
  int status;

  if (c->proxy_pid <= 0)
    return;
  kill (c->proxy_pid, SIGTERM);
  if (reap_within (c->proxy_pid, 2000, &status) == 0) {
    kill (c->proxy_pid, SIGKILL);
    waitpid (c->proxy_pid, &status, 0);
  }
  ssh_debug ("ProxyCommand for %s (pid %d) ended",
             c->host, (int) c->proxy_pid);
  c->proxy_pid = 0;
}
