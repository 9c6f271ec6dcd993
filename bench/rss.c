/*
** bench/rss.c OUTFILE COMMAND [ARG...]: runs COMMAND, then writes its peak
** resident memory (ru_maxrss of the child, in kB) to OUTFILE and exits
** with the command's status. bench/run.lua runs every bench program under
** it, so each process's peak memory is measured the same way from outside.
*/
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct rusage ru;
  int status;
  pid_t pid;
  FILE *f;
  if (argc < 3) {
    fputs("usage: rss OUTFILE COMMAND [ARG...]\n", stderr);
    return 2;
  }
  pid = fork();
  if (pid < 0) {
    perror("rss: fork");
    return 2;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror("rss: exec");
    _exit(127);
  }
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("rss: wait4");
    return 2;
  }
  f = fopen(argv[1], "w");
  if (f != NULL) {
    fprintf(f, "%ld\n", ru.ru_maxrss);
    fclose(f);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
