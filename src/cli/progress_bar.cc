// ProgressBar: "\r", the line, erase to its end; a newline only at Finish.
#include "cli/progress_bar.h"

#include <fmt/core.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace onceflow::cli {
namespace {

constexpr auto kMinRedraw = std::chrono::milliseconds(200);  // at most 5 draws a second
constexpr auto kRateWindow = std::chrono::seconds(5);

std::string Duration(double seconds) {
  const auto s = static_cast<int64_t>(std::ceil(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

// The columns of the terminal behind `out`, less one (writing the last column wraps on some
// terminals, and a wrapped line is not redrawn in place).
int Columns(std::FILE* out) {
  winsize ws{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return std::clamp(static_cast<int>(ws.ws_col) - 1, 20, 200);
  }
  return 79;
}

}  // namespace

bool ProgressBarWanted(bool no_progress_flag) {
  if (no_progress_flag) return false;
  if (const char* v = std::getenv("ONCEFLOW_NO_PROGRESS"); v != nullptr && *v != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDERR_FILENO) == 1;
}

std::string RenderProgressBar(int64_t done, int64_t total, double rate, int width) {
  const int64_t shown_total = std::max(total, done);
  std::string text;
  int64_t percent = -1;
  if (total > 0) {
    percent = std::min<int64_t>(100, done * 100 / total);
    text = fmt::format("{:3} % {}/{} records", percent, done, shown_total);
  } else {
    text = fmt::format("{} records", done);
  }
  if (rate >= 0) text += fmt::format(", {:.0f} records/s", rate);
  if (rate > 0 && total > done)
    text += ", ETA " + Duration(static_cast<double>(total - done) / rate);
  // The bar takes what is left of the width, 10 to 40 columns ("[", "]" and a space around it).
  const int cols = std::min(40, width - static_cast<int>(text.size()) - 3);
  if (percent < 0 || cols < 10) return text;
  const int full = static_cast<int>(percent * cols / 100);
  return "[" + std::string(static_cast<size_t>(full), '#') +
         std::string(static_cast<size_t>(cols - full), '.') + "] " + text;
}

ProgressBar::ProgressBar(int64_t total, std::FILE* out)
    : total_(total), out_(out), width_(Columns(out)), start_(Clock::now()) {}

ProgressBar::~ProgressBar() {
  std::lock_guard lock(mu_);
  // An error ended the run before Finish: end the bar's line so that the error has its own.
  if (drawn_ && !finished_) std::fputs("\n", out_);
}

void ProgressBar::Update(int64_t done) {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  done_ = done;
  samples_.emplace_back(now, done);
  while (samples_.size() > 2 && now - samples_[1].first > kRateWindow) samples_.pop_front();
  if (drawn_ && now - last_draw_ < kMinRedraw) return;
  DrawLocked(/*final=*/false);
}

void ProgressBar::Finish(int64_t done) {
  std::lock_guard lock(mu_);
  done_ = done;
  DrawLocked(/*final=*/true);
  finished_ = true;
}

void ProgressBar::Print(const std::string& line) {
  std::lock_guard lock(mu_);
  if (drawn_ && !finished_) {
    std::fprintf(out_, "\r\x1b[K%s\n", line.c_str());
    DrawLocked(/*final=*/false);
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
  }
}

void ProgressBar::Clear() {
  std::lock_guard lock(mu_);
  if (!drawn_ || finished_) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  drawn_ = false;  // the next Update draws at once
}

double ProgressBar::RateLocked() const {
  if (samples_.size() < 2) return -1;
  const double dt =
      std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
  if (dt < 0.2) return -1;
  return static_cast<double>(samples_.back().second - samples_.front().second) / dt;
}

void ProgressBar::DrawLocked(bool final) {
  // The final state shows the run's average rate; before it, the rate of the last seconds.
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate =
      final ? (elapsed > 0 ? static_cast<double>(done_) / elapsed : -1) : RateLocked();
  std::fprintf(out_, "\r%s\x1b[K%s", RenderProgressBar(done_, total_, rate, width_).c_str(),
               final ? "\n" : "");
  std::fflush(out_);
  drawn_ = true;
  last_draw_ = Clock::now();
}

}  // namespace onceflow::cli
