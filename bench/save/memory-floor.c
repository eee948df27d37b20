// memory-floor: the least a restore must spend putting a saved guest's non-zero pages into fresh
// guest memory, without reading, checking or parsing anything. bench_save.py gives it the page
// numbers of the guest it saved; it times two ways of filling them from one page-aligned buffer:
//   tmpfs  one pwrite per run of consecutive pages into a new sparse file in RAM_DIR, the way the
//          simulated host's restore fills a guest's RAM file (hypervisor/sim/SimSaveStream.cc);
//   anon   a memcpy per page into fresh anonymous memory (what any process allocating the
//          memory itself would pay: page faults instead of the file's page cache).
// It prints "tmpfs SECONDS" and "anon SECONDS", the best of --repeat runs each.
//
// Usage: memory-floor RAM_DIR PFN_FILE RAM_BYTES [REPEAT]
//   PFN_FILE: the page numbers, ascending, as 64-bit little-endian integers.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { kPage = 4096, kSourcePages = 256 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t* readPfns(const char* path, size_t* count) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size % 8 != 0) {
    perror(path);
    exit(1);
  }
  uint64_t* pfns = malloc((size_t)st.st_size + 8);
  if (!pfns || read(fd, pfns, (size_t)st.st_size) != st.st_size) {
    perror(path);
    exit(1);
  }
  close(fd);
  *count = (size_t)st.st_size / 8;
  return pfns;
}

// Source pages cycle through one page-aligned buffer (the restore copies from page-aligned slots).
static const uint8_t* sourceFor(const uint8_t* src, size_t i) { return src + (i % kSourcePages) * kPage; }

static double fillTmpfs(const char* dir, const uint64_t* pfns, size_t n, uint64_t ramBytes, const uint8_t* src) {
  char path[4096];
  snprintf(path, sizeof path, "%s/memory-floor.XXXXXX", dir);
  int fd = mkstemp(path);
  if (fd < 0 || ftruncate(fd, (off_t)ramBytes) != 0) {
    perror(dir);
    exit(1);
  }
  unlink(path);
  double t = now();
  for (size_t i = 0; i < n;) {
    size_t run = 1;
    while (i + run < n && pfns[i + run] == pfns[i] + run && (i % kSourcePages) + run < kSourcePages) ++run;
    if (pwrite(fd, sourceFor(src, i), run * kPage, (off_t)(pfns[i] * kPage)) != (ssize_t)(run * kPage)) {
      perror("pwrite");
      exit(1);
    }
    i += run;
  }
  t = now() - t;
  close(fd);  // frees the pages, outside the timing
  return t;
}

static double fillAnon(const uint64_t* pfns, size_t n, uint64_t ramBytes, const uint8_t* src) {
  uint8_t* m = mmap(NULL, ramBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  double t = now();
  for (size_t i = 0; i < n; ++i) memcpy(m + pfns[i] * kPage, sourceFor(src, i), kPage);
  t = now() - t;
  munmap(m, ramBytes);
  return t;
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    fputs("usage: memory-floor RAM_DIR PFN_FILE RAM_BYTES [REPEAT]\n", stderr);
    return 2;
  }
  size_t n = 0;
  uint64_t* pfns = readPfns(argv[2], &n);
  uint64_t ramBytes = strtoull(argv[3], NULL, 10);
  int repeat = argc == 5 ? atoi(argv[4]) : 3;
  for (size_t i = 0; i < n; ++i)
    if (pfns[i] * kPage >= ramBytes || (i > 0 && pfns[i] <= pfns[i - 1])) {
      fputs("memory-floor: the page numbers must ascend and lie within RAM_BYTES\n", stderr);
      return 1;
    }
  uint8_t* src = aligned_alloc(kPage, (size_t)kSourcePages * kPage);
  if (!src) return 1;
  for (size_t i = 0; i < (size_t)kSourcePages * kPage; ++i) src[i] = (uint8_t)(i * 131 + 7) | 1;
  double tmpfs = 1e9, anon = 1e9;
  for (int r = 0; r < repeat; ++r) {
    double t = fillTmpfs(argv[1], pfns, n, ramBytes, src);
    if (t < tmpfs) tmpfs = t;
    t = fillAnon(pfns, n, ramBytes, src);
    if (t < anon) anon = t;
  }
  printf("tmpfs %.6f\nanon %.6f\n", tmpfs, anon);
  return 0;
}
