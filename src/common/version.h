/*
 * version.h - the versions Sesame announces. SESAME_VERSION (the build's own) comes from
 * CMake; CONNECT_COMPAT_VERSION is the Connect server version whose API Sesame speaks,
 * sent in the 1Password-Connect-Version header and in /health (the Go SDK needs >= 1.3.0
 * there to use the file endpoints).
 */
#ifndef SESAME_COMMON_VERSION_H
#define SESAME_COMMON_VERSION_H

#define CONNECT_COMPAT_VERSION "1.8.1"

#endif
