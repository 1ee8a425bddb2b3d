#pragma once
// The master's pid file: written atomically (a temporary file renamed over it), read by
// `zhttpd -s ...`, removed at a clean stop.
#include <sys/types.h>

#include <string>

namespace zhttp::proc {

// False with *error set when the file cannot be written.
bool write_pid_file(const std::string& path, pid_t pid, std::string* error);
// The pid in the file, or -1 with *error set (missing, unreadable, not a number).
pid_t read_pid_file(const std::string& path, std::string* error);
// Removes the file if it still names `pid` (a newer master may own it by now).
void remove_pid_file(const std::string& path, pid_t pid);

}  // namespace zhttp::proc
