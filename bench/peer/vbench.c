/* The one libvirt client every peer figure uses: the same public-API calls against xvirtd and libvirtd.
 * Prints one JSON object per run so bench/run.py can compare the daemons side by side.
 *
 * Usage:
 *   vbench getinfo   URI DOMAIN SECONDS        virDomainGetInfo calls/s on one domain
 *   vbench open      URI SECONDS               virConnectOpen + virConnectClose per second
 *   vbench listall   URI CALLS                 virConnectListAllDomains latency (median/min/max, us)
 *   vbench define    URI XML PREFIX FIRST COUNT  defines COUNT domains PREFIX-FIRST.. (set-up)
 *   vbench undefine  URI PREFIX COUNT          undefines them again
 *   vbench defundef  URI XML SECONDS           define + undefine pairs per second
 *   vbench startstop URI XML SECONDS THREADS   virDomainCreateXML + virDomainDestroy per second
 * XML is a file whose domain name is the literal @NAME@ (replaced per domain, with a fresh UUID).
 */
#define _GNU_SOURCE
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  virErrorPtr e = virGetLastError();
  fprintf(stderr, "vbench: %s failed: %s\n", what, e && e->message ? e->message : "(no libvirt error)");
  exit(1);
}

static void quiet(void *opaque, virErrorPtr e) { (void)opaque; (void)e; }

static virConnectPtr conn_open(const char *uri) {
  virConnectPtr c = virConnectOpen(uri);
  if (!c) die("virConnectOpen");
  return c;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); exit(1); }
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return strdup(buf);
}

/* The template with @NAME@ replaced by name and a <uuid> derived from the counter. */
static char *xml_for(const char *tmpl, const char *name, unsigned tag, unsigned long n) {
  const char *at = strstr(tmpl, "@NAME@");
  if (!at) { fprintf(stderr, "vbench: the XML has no @NAME@\n"); exit(1); }
  char uuid[64];
  snprintf(uuid, sizeof uuid, "<uuid>7b3c0000-0000-4000-%04x-%012lx</uuid>", 0x8000 | tag, n);
  char *out;
  if (asprintf(&out, "%.*s%s%s%s", (int)(at - tmpl), tmpl, name, at + 6, "") < 0) exit(1);
  /* The uuid goes right after </name>. */
  char *endname = strstr(out, "</name>");
  if (endname && !strstr(out, "<uuid>")) {
    char *with;
    endname += 7;
    if (asprintf(&with, "%.*s%s%s", (int)(endname - out), out, uuid, endname) < 0) exit(1);
    free(out);
    out = with;
  }
  return out;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

struct startstop {
  const char *uri, *tmpl;
  int id;
  double until;
  long done;
};

static void *startstop_thread(void *arg) {
  struct startstop *s = arg;
  virConnectPtr c = conn_open(s->uri);
  char name[64];
  for (long i = 0; now() < s->until; i++) {
    snprintf(name, sizeof name, "vbench-ss-%d-%ld", s->id, i);
    char *xml = xml_for(s->tmpl, name, 0x100 + s->id, i);
    virDomainPtr d = virDomainCreateXML(c, xml, 0);
    free(xml);
    if (!d) die("virDomainCreateXML");
    if (virDomainDestroy(d) < 0) die("virDomainDestroy");
    virDomainFree(d);
    s->done++;
  }
  virConnectClose(c);
  return NULL;
}

int main(int argc, char **argv) {
  virSetErrorFunc(NULL, quiet);
  if (argc < 3) { fprintf(stderr, "usage: see the comment at the top of vbench.c\n"); return 2; }
  const char *mode = argv[1], *uri = argv[2];

  if (!strcmp(mode, "getinfo") && argc == 5) {
    virConnectPtr c = conn_open(uri);
    virDomainPtr d = virDomainLookupByName(c, argv[3]);
    if (!d) die("virDomainLookupByName");
    virDomainInfo info;
    double secs = atof(argv[4]), t0 = now(), t;
    long n = 0;
    do {
      for (int k = 0; k < 100; k++, n++)
        if (virDomainGetInfo(d, &info) < 0) die("virDomainGetInfo");
    } while ((t = now()) - t0 < secs);
    printf("{\"per_s\": %.1f, \"calls\": %ld, \"state\": %d}\n", n / (t - t0), n, info.state);
    virDomainFree(d);
    virConnectClose(c);
  } else if (!strcmp(mode, "open") && argc == 4) {
    double secs = atof(argv[3]), t0 = now(), t;
    long n = 0;
    do {
      virConnectPtr c = conn_open(uri);
      virConnectClose(c);
      n++;
    } while ((t = now()) - t0 < secs);
    printf("{\"per_s\": %.1f, \"opens\": %ld}\n", n / (t - t0), n);
  } else if (!strcmp(mode, "listall") && argc == 4) {
    virConnectPtr c = conn_open(uri);
    int calls = atoi(argv[3]), count = 0;
    double *lat = calloc(calls, sizeof *lat);
    for (int i = 0; i < calls; i++) {
      virDomainPtr *doms = NULL;
      double t0 = now();
      count = virConnectListAllDomains(c, &doms, 0);
      lat[i] = (now() - t0) * 1e6;
      if (count < 0) die("virConnectListAllDomains");
      for (int k = 0; k < count; k++) virDomainFree(doms[k]);
      free(doms);
    }
    qsort(lat, calls, sizeof *lat, cmp_double);
    printf("{\"median_us\": %.1f, \"min_us\": %.1f, \"max_us\": %.1f, \"domains\": %d}\n", lat[calls / 2], lat[0],
           lat[calls - 1], count);
    virConnectClose(c);
  } else if (!strcmp(mode, "define") && argc == 7) {
    virConnectPtr c = conn_open(uri);
    char *tmpl = read_file(argv[3]);
    long first = atol(argv[5]), count = atol(argv[6]);
    char name[128];
    for (long i = first; i < first + count; i++) {
      snprintf(name, sizeof name, "%s-%ld", argv[4], i);
      char *xml = xml_for(tmpl, name, 1, i);
      virDomainPtr d = virDomainDefineXML(c, xml);
      if (!d) die("virDomainDefineXML");
      virDomainFree(d);
      free(xml);
    }
    printf("{\"defined\": %ld}\n", count);
    virConnectClose(c);
  } else if (!strcmp(mode, "undefine") && argc == 5) {
    virConnectPtr c = conn_open(uri);
    long count = atol(argv[4]);
    char name[128];
    for (long i = 0; i < count; i++) {
      snprintf(name, sizeof name, "%s-%ld", argv[3], i);
      virDomainPtr d = virDomainLookupByName(c, name);
      if (!d) continue;
      if (virDomainUndefine(d) < 0) die("virDomainUndefine");
      virDomainFree(d);
    }
    printf("{\"undefined\": %ld}\n", count);
    virConnectClose(c);
  } else if (!strcmp(mode, "defundef") && argc == 5) {
    virConnectPtr c = conn_open(uri);
    char *tmpl = read_file(argv[3]);
    double secs = atof(argv[4]), t0 = now(), t;
    long n = 0;
    char name[64];
    do {
      snprintf(name, sizeof name, "vbench-du-%ld", n);
      char *xml = xml_for(tmpl, name, 2, n);
      virDomainPtr d = virDomainDefineXML(c, xml);
      free(xml);
      if (!d) die("virDomainDefineXML");
      if (virDomainUndefine(d) < 0) die("virDomainUndefine");
      virDomainFree(d);
      n++;
    } while ((t = now()) - t0 < secs);
    printf("{\"per_s\": %.1f, \"pairs\": %ld}\n", n / (t - t0), n);
    virConnectClose(c);
  } else if (!strcmp(mode, "startstop") && argc == 6) {
    char *tmpl = read_file(argv[3]);
    double secs = atof(argv[4]);
    int threads = atoi(argv[5]);
    struct startstop s[64];
    pthread_t th[64];
    if (threads < 1 || threads > 64) return 2;
    double t0 = now(), until = t0 + secs;
    for (int i = 0; i < threads; i++) {
      s[i] = (struct startstop){uri, tmpl, i, until, 0};
      pthread_create(&th[i], NULL, startstop_thread, &s[i]);
    }
    long n = 0;
    for (int i = 0; i < threads; i++) {
      pthread_join(th[i], NULL);
      n += s[i].done;
    }
    double t = now();
    printf("{\"per_s\": %.2f, \"guests\": %ld, \"threads\": %d}\n", n / (t - t0), n, threads);
  } else {
    fprintf(stderr, "vbench: unknown mode or wrong arguments; see the comment at the top of vbench.c\n");
    return 2;
  }
  return 0;
}
