// LD_PRELOAD shim for scripts/bench-instructions.sh: valgrind 3.19 (Debian 12) does not know the
// openat2 system call and fails it with ENOSYS, so zhttpd under callgrind would find no file (it
// opens every file with openat2(RESOLVE_BENEATH), through glibc's syscall()). This syscall()
// passes every call through; only an openat2 that fails with ENOSYS is redone as openat with the
// same flags and mode, refusing what RESOLVE_BENEATH would (an absolute path, a ".." segment).
// A valgrind that knows openat2 never reaches the fallback. The measured requests make no file
// system call anyway (the open file cache holds the files): the shim only lets the server start
// and warm up; it adds a call frame to syscalls made through syscall(), nothing else.
//
//   gcc -O2 -shared -fPIC bench/instr/openat2_shim.c -o build/bench/openat2_shim.so -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>

typedef long (*syscall_fn)(long, ...);

static int escapes(const char* path) {
  if (path[0] == '/') return 1;
  for (const char* p = path; *p != '\0';) {
    const char* end = strchr(p, '/');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    if (len == 2 && p[0] == '.' && p[1] == '.') return 1;
    if (end == NULL) break;
    p = end + 1;
  }
  return 0;
}

long syscall(long number, ...) {
  static syscall_fn real;
  if (real == NULL) real = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; ++i) a[i] = va_arg(ap, long);
  va_end(ap);
  long r = real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (number != SYS_openat2 || r != -1 || errno != ENOSYS) return r;
  const char* path = (const char*)a[1];
  const struct open_how* how = (const struct open_how*)a[2];
  if ((how->resolve & RESOLVE_BENEATH) != 0 && escapes(path)) {
    errno = EXDEV;  // what openat2 answers for a path escaping its directory
    return -1;
  }
  return openat((int)a[0], path, (int)how->flags, (mode_t)how->mode);
}
