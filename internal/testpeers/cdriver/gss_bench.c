/*
 * gss_bench: the comparison harness for gosspi's Kerberos and NTLM benchmarks.
 *
 * Performs N full handshakes through MIT krb5's mechglue, initiator and acceptor in one
 * process (gss_init_sec_context / gss_accept_sec_context, no sockets), with the mechanism
 * chosen by -mech:
 *   krb5: MIT's own Kerberos with mutual authentication: AP-REQ with the service ticket in
 *         hand (the first, untimed handshake fetches it into the credential's memory cache),
 *         AP-REQ verification with the keytab and MIT's default replay cache, AP-REP, AP-REP
 *         verification. Environment: KRB5_CONFIG (the KDC), KRB5_KTNAME (the acceptor's
 *         keytab), KRB5RCACHEDIR.
 *   ntlm: gss-ntlmssp (the first, untimed handshake loads the plugin and reads the users
 *         file). Environment: NTLM_USER_FILE (the acceptor's accounts), plus the gss-ntlmssp
 *         knobs.
 * Then N gss_wrap (with confidentiality) + gss_unwrap of 1 KiB and 16 KiB messages, and N
 * gss_get_mic + gss_verify_mic of 1 KiB (and, for krb5, 16 KiB). The time spent in the
 * initiator's calls and in the acceptor's calls is measured separately (CLOCK_MONOTONIC
 * around each call), because gosspi's client and server are benchmarked separately too.
 * Prints one JSON object on stdout.
 *
 * Built at test time by internal/testpeers (BuildGSSKrb5Bench, BuildGSSNTLMBench):
 *   gcc -O2 $(krb5-config --cflags gssapi) gss_bench.c $(krb5-config --libs gssapi)
 *
 * Usage: gss_bench -mech krb5|ntlm -n N -user NAME -pass PASSWORD [-target host@localhost]
 * (NAME is user@REALM for krb5, DOMAIN\user for ntlm)
 *
 * Every result is checked (handshake completes, unwrap returns the plaintext, MIC verifies);
 * any failure exits 1 with the GSS status on stderr, so a broken peer never yields a number.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One mechanism the harness can drive. */
struct mech {
    const char *name;
    gss_OID_desc oid;
    OM_uint32 flags;  /* requested of gss_init_sec_context */
    int mic_sizes[2]; /* message sizes for the MIC loops, 0 = unused */
};

static struct mech mechs_known[] = {
    {"krb5",
     {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"},
     GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG,
     {1024, 16384}},
    {"ntlm",
     {10, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"},
     GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG,
     {1024, 0}},
};

static struct mech *mech; /* the one chosen by -mech */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void print_status(const char *what, OM_uint32 code, int type, gss_OID mech) {
    OM_uint32 min, ctx = 0;
    gss_buffer_desc msg;
    do {
        gss_display_status(&min, code, type, mech, &ctx, &msg);
        fprintf(stderr, "%s: %.*s\n", what, (int)msg.length, (char *)msg.value);
        gss_release_buffer(&min, &msg);
    } while (ctx != 0);
}

static void die(const char *what, OM_uint32 maj, OM_uint32 min) {
    print_status(what, maj, GSS_C_GSS_CODE, GSS_C_NO_OID);
    print_status(what, min, GSS_C_MECH_CODE, &mech->oid);
    exit(1);
}

struct pair {
    gss_ctx_id_t ini, acc;
};

/* One full handshake; adds the time of each side's calls to *tini / *tacc. */
static void handshake(gss_cred_id_t icred, gss_cred_id_t acred, gss_name_t target,
                      struct pair *p, uint64_t *tini, uint64_t *tacc) {
    OM_uint32 maj, min, ret_flags;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    gss_name_t src = GSS_C_NO_NAME;
    int idone = 0, adone = 0, legs = 0;
    uint64_t t0;

    p->ini = GSS_C_NO_CONTEXT;
    p->acc = GSS_C_NO_CONTEXT;
    for (;;) {
        if (++legs > 10) {
            fprintf(stderr, "handshake: too many legs\n");
            exit(1);
        }
        t0 = now_ns();
        maj = gss_init_sec_context(&min, icred, &p->ini, target, &mech->oid, mech->flags, 0, GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, &ret_flags, NULL);
        *tini += now_ns() - t0;
        if (in.value != NULL) {
            gss_release_buffer(&min, &in);
        }
        if (GSS_ERROR(maj)) {
            die("gss_init_sec_context", maj, min);
        }
        idone = !(maj & GSS_S_CONTINUE_NEEDED);
        if (out.length == 0) {
            break;
        }
        t0 = now_ns();
        maj = gss_accept_sec_context(&min, &p->acc, acred, &out, GSS_C_NO_CHANNEL_BINDINGS,
                                     adone ? NULL : &src, NULL, &in, &ret_flags, NULL, NULL);
        *tacc += now_ns() - t0;
        gss_release_buffer(&min, &out);
        if (GSS_ERROR(maj)) {
            die("gss_accept_sec_context", maj, min);
        }
        adone = !(maj & GSS_S_CONTINUE_NEEDED);
        if (in.length == 0) {
            gss_release_buffer(&min, &in);
            break;
        }
    }
    if (!idone || !adone) {
        fprintf(stderr, "handshake: not complete (initiator %d, acceptor %d)\n", idone, adone);
        exit(1);
    }
    if (src != GSS_C_NO_NAME) {
        gss_release_name(&min, &src);
    }
}

static void release(struct pair *p) {
    OM_uint32 min;
    gss_delete_sec_context(&min, &p->ini, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&min, &p->acc, GSS_C_NO_BUFFER);
}

static void protect(struct pair *p, size_t size, long n, double *wrap_ns, double *unwrap_ns) {
    OM_uint32 maj, min;
    unsigned char *msg = malloc(size);
    uint64_t tw = 0, tu = 0, t0;
    int conf = 0;
    for (size_t i = 0; i < size; i++) {
        msg[i] = (unsigned char)(i * 131 + 7);
    }
    for (long i = 0; i < n; i++) {
        gss_buffer_desc in = {size, msg}, tok = GSS_C_EMPTY_BUFFER, back = GSS_C_EMPTY_BUFFER;
        t0 = now_ns();
        maj = gss_wrap(&min, p->ini, 1, GSS_C_QOP_DEFAULT, &in, &conf, &tok);
        tw += now_ns() - t0;
        if (GSS_ERROR(maj) || !conf) {
            die("gss_wrap", maj, min);
        }
        t0 = now_ns();
        maj = gss_unwrap(&min, p->acc, &tok, &back, &conf, NULL);
        tu += now_ns() - t0;
        if (GSS_ERROR(maj)) {
            die("gss_unwrap", maj, min);
        }
        if (!conf || back.length != size || memcmp(back.value, msg, size) != 0) {
            fprintf(stderr, "gss_unwrap: plaintext mismatch\n");
            exit(1);
        }
        gss_release_buffer(&min, &tok);
        gss_release_buffer(&min, &back);
    }
    free(msg);
    *wrap_ns = (double)tw / (double)n;
    *unwrap_ns = (double)tu / (double)n;
}

static void mic(struct pair *p, size_t size, long n, double *get_ns, double *verify_ns) {
    OM_uint32 maj, min;
    unsigned char *msg = calloc(1, size);
    uint64_t tg = 0, tv = 0, t0;
    for (long i = 0; i < n; i++) {
        gss_buffer_desc in = {size, msg}, tok = GSS_C_EMPTY_BUFFER;
        t0 = now_ns();
        maj = gss_get_mic(&min, p->ini, GSS_C_QOP_DEFAULT, &in, &tok);
        tg += now_ns() - t0;
        if (GSS_ERROR(maj)) {
            die("gss_get_mic", maj, min);
        }
        t0 = now_ns();
        maj = gss_verify_mic(&min, p->acc, &in, &tok, NULL);
        tv += now_ns() - t0;
        if (GSS_ERROR(maj)) {
            die("gss_verify_mic", maj, min);
        }
        gss_release_buffer(&min, &tok);
    }
    free(msg);
    *get_ns = (double)tg / (double)n;
    *verify_ns = (double)tv / (double)n;
}

int main(int argc, char **argv) {
    long n = 100;
    const char *mech_name = NULL, *user = NULL, *pass = NULL, *target = "host@localhost";
    OM_uint32 maj, min;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-mech") == 0 && i + 1 < argc) {
            mech_name = argv[++i];
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-user") == 0 && i + 1 < argc) {
            user = argv[++i];
        } else if (strcmp(argv[i], "-pass") == 0 && i + 1 < argc) {
            pass = argv[++i];
        } else if (strcmp(argv[i], "-target") == 0 && i + 1 < argc) {
            target = argv[++i];
        } else {
            fprintf(stderr, "usage: %s -mech krb5|ntlm -n N -user NAME -pass PASSWORD [-target svc@host]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n <= 0 || user == NULL || pass == NULL || mech_name == NULL) {
        fprintf(stderr, "need -mech, -n > 0, -user and -pass\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof mechs_known / sizeof mechs_known[0]; i++) {
        if (strcmp(mech_name, mechs_known[i].name) == 0) {
            mech = &mechs_known[i];
        }
    }
    if (mech == NULL) {
        fprintf(stderr, "unknown -mech %s (krb5 or ntlm)\n", mech_name);
        return 2;
    }

    gss_OID_set_desc mechs = {1, &mech->oid};
    gss_buffer_desc ubuf = {strlen(user), (void *)user}, pbuf = {strlen(pass), (void *)pass};
    gss_buffer_desc tbuf = {strlen(target), (void *)target};
    gss_name_t uname, tname;
    gss_cred_id_t icred, acred;

    maj = gss_import_name(&min, &ubuf, GSS_C_NT_USER_NAME, &uname);
    if (GSS_ERROR(maj)) die("gss_import_name(user)", maj, min);
    maj = gss_import_name(&min, &tbuf, GSS_C_NT_HOSTBASED_SERVICE, &tname);
    if (GSS_ERROR(maj)) die("gss_import_name(target)", maj, min);
    /* Credentials are acquired once, outside the timed loops, as a client or server would. */
    maj = gss_acquire_cred_with_password(&min, uname, &pbuf, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                         &icred, NULL, NULL);
    if (GSS_ERROR(maj)) die("gss_acquire_cred_with_password", maj, min);
    maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &acred, NULL, NULL);
    if (GSS_ERROR(maj)) die("gss_acquire_cred(accept)", maj, min);

    struct pair p;
    uint64_t tini = 0, tacc = 0, t0;
    /* Warm-up: krb5 gets the service ticket (TGS) into the credential, ntlm loads the plugin. */
    handshake(icred, acred, tname, &p, &tini, &tacc);
    release(&p);
    tini = tacc = 0;

    t0 = now_ns();
    for (long i = 0; i < n; i++) {
        handshake(icred, acred, tname, &p, &tini, &tacc);
        release(&p);
    }
    uint64_t total = now_ns() - t0;
    double ini_per = (double)tini / (double)n, acc_per = (double)tacc / (double)n;

    handshake(icred, acred, tname, &p, &tini, &tacc); /* the context the message loops use */
    double w1, u1, w16, u16, g[2], v[2];
    protect(&p, 1024, n, &w1, &u1);
    protect(&p, 16384, n, &w16, &u16);
    for (int i = 0; i < 2 && mech->mic_sizes[i] != 0; i++) {
        mic(&p, (size_t)mech->mic_sizes[i], n, &g[i], &v[i]);
    }
    release(&p);

    printf("{\"n\":%ld,\"initiator_ns_per_handshake\":%.1f,\"acceptor_ns_per_handshake\":%.1f,"
           "\"total_ns_per_handshake\":%.1f,"
           "\"protect\":[{\"size\":1024,\"wrap_ns\":%.1f,\"unwrap_ns\":%.1f},"
           "{\"size\":16384,\"wrap_ns\":%.1f,\"unwrap_ns\":%.1f}],"
           "\"mics\":[",
           n, ini_per, acc_per, (double)total / (double)n, w1, u1, w16, u16);
    for (int i = 0; i < 2 && mech->mic_sizes[i] != 0; i++) {
        printf("%s{\"size\":%d,\"get_mic_ns\":%.1f,\"verify_mic_ns\":%.1f}", i ? "," : "",
               mech->mic_sizes[i], g[i], v[i]);
    }
    printf("]}\n");

    gss_release_cred(&min, &icred);
    gss_release_cred(&min, &acred);
    gss_release_name(&min, &uname);
    gss_release_name(&min, &tname);
    return 0;
}
