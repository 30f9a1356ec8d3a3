/*
 * heimdal_gss_driver: a GSS-API Kerberos initiator or acceptor built against Heimdal's
 * libgssapi (Debian ships no gss-client or gss-server for Heimdal), driven one line at a
 * time by internal/testpeers.
 *
 *   heimdal_gss_driver init SERVICE@HOST FLAGS    credentials from KRB5CCNAME
 *   heimdal_gss_driver accept                     keys from KRB5_KTNAME
 *
 * Output and input lines, tokens in hex:
 *   out "TOKEN <hex>"      a context token for the peer
 *   out "CONTINUE"         the context needs the peer's next token:
 *   in  "TOKEN <hex>"      the peer's token (the acceptor starts by reading one)
 *   out "ESTABLISHED <ret_flags> <mech-oid-hex> [<initiator name>]"  (the name: acceptor only)
 *   in  "WRAP <hex>"       gss_wrap (conf) of the bytes, answered "WRAPPED <hex>"
 *   in  "UNWRAP <hex>"     gss_unwrap, answered "UNWRAPPED <conf> <hex>"
 *   in  "MIC <hex>"        gss_get_mic, answered "MIC <hex>"
 *   in  "VERIFY <msghex> <michex>"  gss_verify_mic, answered "VERIFIED"
 * Any failure, and a supplementary status from gss_unwrap or gss_verify_mic (a duplicate or
 * out-of-sequence token), prints "ERROR <where> <major> <minor> <text>" and exits 1.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char line[1 << 20];

static void fail(const char *where, OM_uint32 major, OM_uint32 minor) {
  OM_uint32 m, ctx = 0;
  gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
  printf("ERROR %s %u %u", where, major, minor);
  gss_display_status(&m, minor ? minor : major, minor ? GSS_C_MECH_CODE : GSS_C_GSS_CODE,
                     GSS_C_NO_OID, &ctx, &text);
  printf(" %.*s\n", (int)text.length, (char *)text.value);
  fflush(stdout);
  exit(1);
}

static void put_hex(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
}

/* get_hex decodes the hex at s (up to a space or the end) into a new buffer. */
static gss_buffer_desc get_hex(char **s) {
  gss_buffer_desc b;
  size_t n = strcspn(*s, " \n");
  unsigned char *out = malloc(n / 2 + 1);
  for (size_t i = 0; i + 1 < n; i += 2) {
    unsigned v;
    if (sscanf(*s + i, "%2x", &v) != 1) { printf("ERROR hex 0 0 bad input\n"); exit(1); }
    out[i / 2] = (unsigned char)v;
  }
  b.length = n / 2;
  b.value = out;
  *s += n;
  while (**s == ' ') (*s)++;
  return b;
}

static char *next_line(const char *want) {
  if (!fgets(line, sizeof line, stdin)) exit(0);
  size_t n = strlen(want);
  if (strncmp(line, want, n) != 0 || line[n] != ' ') { printf("ERROR input 0 0 want %s\n", want); exit(1); }
  return line + n + 1;
}

/* put_token prints a context token, if there is one, and releases it. */
static void put_token(gss_buffer_desc *out) {
  OM_uint32 minor;
  if (!out->length) return;
  printf("TOKEN ");
  put_hex(out->value, out->length);
  printf("\n");
  fflush(stdout);
  gss_release_buffer(&minor, out);
}

static gss_ctx_id_t initiate(const char *service, OM_uint32 flags) {
  OM_uint32 major, minor, ret_flags = 0;
  gss_name_t target;
  gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
  gss_buffer_desc name, in = GSS_C_EMPTY_BUFFER, out;
  gss_OID mech = GSS_C_NO_OID;
  name.value = (void *)service;
  name.length = strlen(service);
  major = gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &target);
  if (GSS_ERROR(major)) fail("import_name", major, minor);
  for (;;) {
    out.length = 0;
    out.value = NULL;
    major = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, &ctx, target, GSS_KRB5_MECHANISM,
                                 flags, 0, GSS_C_NO_CHANNEL_BINDINGS, &in, &mech, &out,
                                 &ret_flags, NULL);
    free(in.value);
    in.length = 0;
    in.value = NULL;
    if (GSS_ERROR(major)) fail("init_sec_context", major, minor);
    put_token(&out);
    if (!(major & GSS_S_CONTINUE_NEEDED)) break;
    printf("CONTINUE\n");
    fflush(stdout);
    char *s = next_line("TOKEN");
    in = get_hex(&s);
  }
  printf("ESTABLISHED %u ", ret_flags);
  put_hex(mech->elements, mech->length);
  printf("\n");
  fflush(stdout);
  gss_release_name(&minor, &target);
  return ctx;
}

static gss_ctx_id_t accept_context(void) {
  OM_uint32 major, minor, ret_flags = 0;
  gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
  gss_buffer_desc in, out, shown;
  gss_name_t client = GSS_C_NO_NAME;
  gss_OID mech = GSS_C_NO_OID;
  for (;;) {
    char *s = next_line("TOKEN");
    in = get_hex(&s);
    out.length = 0;
    out.value = NULL;
    major = gss_accept_sec_context(&minor, &ctx, GSS_C_NO_CREDENTIAL, &in,
                                   GSS_C_NO_CHANNEL_BINDINGS, &client, &mech, &out, &ret_flags,
                                   NULL, NULL);
    free(in.value);
    if (GSS_ERROR(major)) fail("accept_sec_context", major, minor);
    put_token(&out);
    if (!(major & GSS_S_CONTINUE_NEEDED)) break;
    printf("CONTINUE\n");
    fflush(stdout);
  }
  major = gss_display_name(&minor, client, &shown, NULL);
  if (GSS_ERROR(major)) fail("display_name", major, minor);
  printf("ESTABLISHED %u ", ret_flags);
  put_hex(mech->elements, mech->length);
  printf(" %.*s\n", (int)shown.length, (char *)shown.value);
  fflush(stdout);
  gss_release_buffer(&minor, &shown);
  gss_release_name(&minor, &client);
  return ctx;
}

/* serve answers WRAP, UNWRAP, MIC and VERIFY lines until the input ends. */
static int serve(gss_ctx_id_t ctx) {
  OM_uint32 major, minor;
  while (fgets(line, sizeof line, stdin)) {
    char *s = strchr(line, ' ');
    if (!s) { printf("ERROR input 0 0 no argument\n"); return 1; }
    *s++ = 0;
    gss_buffer_desc a = get_hex(&s), r = GSS_C_EMPTY_BUFFER;
    int conf = 0;
    if (strcmp(line, "WRAP") == 0) {
      major = gss_wrap(&minor, ctx, 1, GSS_C_QOP_DEFAULT, &a, &conf, &r);
      if (GSS_ERROR(major)) fail("wrap", major, minor);
      printf("WRAPPED ");
    } else if (strcmp(line, "UNWRAP") == 0) {
      major = gss_unwrap(&minor, ctx, &a, &r, &conf, NULL);
      if (major != GSS_S_COMPLETE) fail("unwrap", major, minor);
      printf("UNWRAPPED %d ", conf);
    } else if (strcmp(line, "MIC") == 0) {
      major = gss_get_mic(&minor, ctx, GSS_C_QOP_DEFAULT, &a, &r);
      if (GSS_ERROR(major)) fail("get_mic", major, minor);
      printf("MIC ");
    } else if (strcmp(line, "VERIFY") == 0) {
      gss_buffer_desc mic = get_hex(&s);
      /* A supplementary status fails too: Heimdal answers a repeated MIC with
         GSS_S_DUPLICATE_TOKEN before it checks the checksum. */
      major = gss_verify_mic(&minor, ctx, &a, &mic, NULL);
      if (major != GSS_S_COMPLETE) fail("verify_mic", major, minor);
      printf("VERIFIED");
      free(mic.value);
    } else {
      printf("ERROR input 0 0 unknown command\n");
      return 1;
    }
    put_hex(r.value, r.length);
    printf("\n");
    fflush(stdout);
    free(a.value);
    gss_release_buffer(&minor, &r);
  }
  gss_delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "init") == 0)
    return serve(initiate(argv[2], (OM_uint32)strtoul(argv[3], NULL, 0)));
  if (argc == 2 && strcmp(argv[1], "accept") == 0) return serve(accept_context());
  fprintf(stderr, "usage: %s init SERVICE@HOST FLAGS | %s accept\n", argv[0], argv[0]);
  return 2;
}
