// Package krbconf reads krb5.conf as MIT Kerberos 1.20 does.
//
// The parser is this project's own rather than gokrb5's: gokrb5 is leaving the
// per-handshake path, its config.Load reads only one file (package kerberos had to cut
// KRB5_CONFIG at the first colon), fails on include and includedir with an
// "UnsupportedDirective" error that callers have to ignore, and keeps no record of which
// file said what.
//
// What MIT does and this package does too (MIT's profile library, prof_parse.c and
// prof_tree.c, and krb5.conf(5)):
//
//   - KRB5_CONFIG is a colon-separated list; every file that exists is read and they are
//     merged: a single-valued relation takes its first value in file order, a multi-valued
//     one (kdc, admin_server) collects the values of every file. A missing file is skipped.
//   - "include FILE" and "includedir DIR" at the start of a line (outside braces) parse the
//     file(s) into the including file's tree; includedir takes, in name order, the files
//     whose names are letters, digits, '-' and '_' only, or end in ".conf". Paths must be
//     absolute. "module" lines are ignored.
//   - Comments are whole lines starting with '#' or ';'; a value runs to the end of the line
//     (so "kdc = host # x" keeps " # x" as MIT does), or is a double-quoted string with \n,
//     \t, \b escapes.
//   - "[section]*", "tag = { ... }*" and "tag* = value" are final: later files do not add
//     to them.
//   - Booleans, delta times and enctype lists are read with MIT's syntaxes (ParseBool,
//     ParseDuration, ParseEnctypes), MIT's defaults applied for absent relations.
//
// Bounds: MaxFileSize per file, MaxFiles files, MaxIncludeDepth, MaxNesting and
// MaxRelations; an error names the file and line and never quotes more than 128 bytes of
// it.
package krbconf
