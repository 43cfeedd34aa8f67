#include "hdeploy/core/process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/temp_dir.hpp"

namespace hdeploy {
namespace {
using namespace std::chrono_literals;

// Runs a /bin/sh script, collecting stderr lines.
Result<ProcessOutcome> run_sh(const std::string& script, std::vector<std::string>* err_lines,
                              ProcessOptions options = {}) {
  if (err_lines != nullptr) {
    options.on_stderr_line = [err_lines](const std::string& line) { err_lines->push_back(line); };
  }
  return run_process({"/bin/sh", "-c", script}, options);
}

TEST(RunProcessTest, ExitStatusZero) {
  auto outcome = run_sh("exit 0", nullptr);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 0);
  EXPECT_EQ(outcome->term_signal, 0);
  EXPECT_FALSE(outcome->timed_out);
  EXPECT_FALSE(outcome->interrupted);
  EXPECT_TRUE(outcome->succeeded());
}

TEST(RunProcessTest, NonZeroExitIsAnOutcomeNotAnError) {
  auto outcome = run_sh("echo partial; exit 7", nullptr);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 7);
  EXPECT_EQ(outcome->term_signal, 0);
  EXPECT_FALSE(outcome->succeeded());
  EXPECT_EQ(outcome->stdout_text, "partial\n");
}

TEST(RunProcessTest, KilledBySignal) {
  auto outcome = run_sh("kill -TERM $$", nullptr);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->term_signal, SIGTERM);
  EXPECT_EQ(outcome->exit_status, -1);
  EXPECT_FALSE(outcome->succeeded());
}

TEST(RunProcessTest, StdoutCapturedExactly) {
  // No trailing newline, an embedded NUL byte, a blank line.
  auto outcome = run_sh(R"(printf 'first\n\nx\000y\nlast')", nullptr);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->stdout_text, std::string("first\n\nx\0y\nlast", 15));
}

TEST(RunProcessTest, StdinIsDevNull) {
  // `cat` would wait forever on an inherited terminal or pipe.
  auto outcome = run_sh("cat; echo done", nullptr, {.timeout = 5s});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->timed_out);
  EXPECT_EQ(outcome->stdout_text, "done\n");
}

TEST(RunProcessTest, StderrLinesInOrderIncludingAnUnterminatedLast) {
  std::vector<std::string> lines;
  auto outcome = run_sh(R"(printf 'one\ntwo\n\n  three  \nfour' >&2)", &lines);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "", "  three  ", "four"}));
  EXPECT_EQ(outcome->stdout_text, "");
}

TEST(RunProcessTest, InterleavedStdoutAndStderrAreSeparated) {
  std::vector<std::string> lines;
  auto outcome = run_sh("echo o1; echo e1 >&2; echo o2; echo e2 >&2; echo o3", &lines);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->stdout_text, "o1\no2\no3\n");
  EXPECT_EQ(lines, (std::vector<std::string>{"e1", "e2"}));
}

TEST(RunProcessTest, LargeOutputOnBothStreamsDoesNotDeadlock) {
  // 1 MiB on stdout and ~400 KiB on stderr, each far over a 64 KiB pipe buffer, in both orders:
  // reading one stream to the end before the other would stall the child. The timeout turns a
  // deadlock into a failure instead of a hung test.
  constexpr int kStdoutBytes = 1 << 20;
  constexpr int kStderrLines = 50000;
  const std::string script = "seq 1 " + std::to_string(kStderrLines) +
                             " | sed 's/^/err /' >&2; head -c " + std::to_string(kStdoutBytes) +
                             " /dev/zero | tr '\\0' 'a'; seq 1 " + std::to_string(kStderrLines) +
                             " | sed 's/^/err /' >&2; echo end";
  std::vector<std::string> lines;
  auto outcome = run_sh(script, &lines, {.timeout = 10s});
  ASSERT_TRUE(outcome) << outcome.error().message;
  ASSERT_FALSE(outcome->timed_out);
  EXPECT_EQ(outcome->exit_status, 0);
  EXPECT_EQ(outcome->stdout_text, std::string(kStdoutBytes, 'a') + "end\n");
  ASSERT_EQ(lines.size(), 2U * kStderrLines);
  for (int i = 0; i < 2 * kStderrLines; ++i) {
    ASSERT_EQ(lines[i], "err " + std::to_string(i % kStderrLines + 1)) << "line " << i;
  }
}

TEST(RunProcessTest, TimeoutKillsTheChildQuickly) {
  std::vector<std::string> lines;
  const auto start = std::chrono::steady_clock::now();
  auto outcome = run_sh("echo started; echo err >&2; sleep 30", &lines, {.timeout = 300ms});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->timed_out);
  EXPECT_FALSE(outcome->interrupted);
  EXPECT_EQ(outcome->term_signal, SIGKILL);
  EXPECT_FALSE(outcome->succeeded());
  EXPECT_EQ(outcome->stdout_text, "started\n");  // what came before the kill is kept
  EXPECT_EQ(lines, std::vector<std::string>{"err"});
  EXPECT_GE(elapsed, 300ms);
  // /bin/sh's own `sleep` child still holds the pipes: run_process must not wait for it.
  EXPECT_LT(elapsed, 3s);
}

TEST(RunProcessTest, FinishingBeforeTheTimeoutIsNotATimeout) {
  auto outcome = run_sh("echo quick", nullptr, {.timeout = 5s});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->timed_out);
  EXPECT_TRUE(outcome->succeeded());
}

TEST(RunProcessTest, MissingProgramIsNotFoundAndNamed) {
  auto on_path = run_process({"hdeploy-no-such-program-xyz", "--version"});
  ASSERT_FALSE(on_path);
  EXPECT_EQ(on_path.error().code, ErrorCode::kNotFound);
  EXPECT_NE(on_path.error().message.find("hdeploy-no-such-program-xyz"), std::string::npos)
      << on_path.error().message;

  auto by_path = run_process({"/nonexistent/dir/tool"});
  ASSERT_FALSE(by_path);
  EXPECT_EQ(by_path.error().code, ErrorCode::kNotFound);
  EXPECT_NE(by_path.error().message.find("/nonexistent/dir/tool"), std::string::npos);

  // A file that is there but may not run: the spawn says so (not "not found").
  hdeploy::testing::TempDir dir;
  const auto plain = dir.path() / "not-executable";
  std::ofstream(plain) << "#!/bin/sh\n";
  auto denied = run_process({plain.string()});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kIo) << denied.error().message;
}

TEST(RunProcessTest, SearchesPathWhenTheNameHasNoSlash) {
  auto outcome = run_process({"sh", "-c", "echo via-path"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->stdout_text, "via-path\n");
}

TEST(RunProcessTest, ArgumentsArePassedVerbatimWithoutAShell) {
  auto outcome = run_process({"/bin/sh", "-c", R"(printf '%s|' "$@")", "sh", "a b", "$HOME", "*"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->stdout_text, "a b|$HOME|*|");
}

TEST(RunProcessTest, EmptyArgvAndBadOverridesAreRejected) {
  auto empty = run_process({});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  auto bad = run_process({"/bin/true"}, {.env_overrides = {"NO_EQUALS_SIGN"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("NO_EQUALS_SIGN"), std::string::npos);
}

TEST(RunProcessTest, EnvironmentOverridesReplaceAndAdd) {
  ASSERT_EQ(::setenv("HDEPLOY_TEST_INHERITED", "parent", 1), 0);
  ASSERT_EQ(::setenv("HDEPLOY_TEST_REPLACED", "parent", 1), 0);
  ASSERT_EQ(::setenv("HDEPLOY_TEST_REPLACED_LONGER", "kept", 1), 0);
  auto outcome = run_sh(
      "echo \"$HDEPLOY_TEST_INHERITED,$HDEPLOY_TEST_REPLACED,$HDEPLOY_TEST_REPLACED_LONGER,"
      "$HDEPLOY_TEST_ADDED\"; env | grep -c '^HDEPLOY_TEST_REPLACED='",
      nullptr, {.env_overrides = {"HDEPLOY_TEST_REPLACED=child", "HDEPLOY_TEST_ADDED=a=b"}});
  ::unsetenv("HDEPLOY_TEST_INHERITED");
  ::unsetenv("HDEPLOY_TEST_REPLACED");
  ::unsetenv("HDEPLOY_TEST_REPLACED_LONGER");
  ASSERT_TRUE(outcome) << outcome.error().message;
  // Replaced, not duplicated; a variable whose name merely starts with the same text is kept.
  EXPECT_EQ(outcome->stdout_text, "parent,child,kept,a=b\n1\n");
}

TEST(InterruptGuardTest, SignalSetsTheFlagAndStopsTheChild) {
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &before), 0);
  {
    InterruptGuard guard;
    EXPECT_FALSE(InterruptGuard::interrupted());
    ASSERT_EQ(::raise(SIGINT), 0);  // would end the test binary without the guard
    EXPECT_TRUE(InterruptGuard::interrupted());

    const auto start = std::chrono::steady_clock::now();
    auto outcome = run_sh("sleep 30", nullptr);
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_TRUE(outcome->interrupted);
    EXPECT_FALSE(outcome->timed_out);
    EXPECT_EQ(outcome->term_signal, SIGTERM);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);

    InterruptGuard inner;  // nested: the signal is not forgotten
    EXPECT_TRUE(InterruptGuard::interrupted());
  }
  EXPECT_FALSE(InterruptGuard::interrupted());  // gone with the last guard
  {
    InterruptGuard guard;
    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_TRUE(InterruptGuard::interrupted());
  }
  EXPECT_FALSE(InterruptGuard::interrupted());
  auto later = run_sh("exit 0", nullptr);  // not stopped by the earlier signal
  ASSERT_TRUE(later) << later.error().message;
  EXPECT_FALSE(later->interrupted);
  EXPECT_TRUE(later->succeeded());
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, before.sa_handler);  // the old handler is back
}

TEST(RunProcessTest, StdoutStreamedLineByLineWhenAsked) {
  std::vector<std::string> out_lines;
  std::vector<std::string> err_lines;
  ProcessOptions options;
  options.on_stdout_line = [&](const std::string& line) { out_lines.push_back(line); };
  auto outcome =
      run_sh("echo one; echo err >&2; echo two; printf last", &err_lines, std::move(options));
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->succeeded());
  EXPECT_EQ(out_lines, (std::vector<std::string>{"one", "two", "last"}));
  EXPECT_EQ(err_lines, (std::vector<std::string>{"err"}));
  EXPECT_TRUE(outcome->stdout_text.empty());  // streamed, not captured
}

TEST(RunProcessTest, WorkingDirectoryIsWhereTheChildStarts) {
  const auto dir = std::filesystem::temp_directory_path() / "hdeploy_process_test_cwd";
  std::filesystem::create_directories(dir);
  ProcessOptions options;
  options.working_directory = dir;
  auto outcome = run_process({"/bin/sh", "-c", "pwd -P"}, options);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->stdout_text, std::filesystem::canonical(dir).string() + "\n");
  std::filesystem::remove_all(dir);
}

TEST(RunProcessTest, MissingWorkingDirectoryIsNotFoundNamingIt) {
  ProcessOptions options;
  options.working_directory = "/nonexistent/hdeploy-cwd";
  auto outcome = run_process({"/bin/true"}, options);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kNotFound);
  EXPECT_NE(outcome.error().message.find("/nonexistent/hdeploy-cwd"), std::string::npos);
}

}  // namespace
}  // namespace hdeploy
