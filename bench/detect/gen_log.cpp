// Generates a synthetic nginx/Apache combined access log with a realistic repetition of
// clients: a population of users, each owning 1-3 devices (User-Agents drawn from a list of
// real-world strings), Zipf-like activity (a few users make most requests), increasing
// timestamps, a mix of web, API and ActiveSync requests. Deterministic (fixed seed).
// Usage: fw_gen_log BYTES [USERS] > access.log      (see docs/PERFORMANCE.md)
// Single-threaded program.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

const char* kAgents[] = {
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36 YaBrowser/23.11.3.88.00 SA/3",
    "Mozilla/5.0 (Linux; Android 10; HarmonyOS; NOH-AN00; HMSCore 6.1.0.314) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.93 HuaweiBrowser/12.0.1.300 Mobile Safari/537.36",
    "Mozilla/5.0 (Phone; OpenHarmony 5.0; HarmonyOS 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile",
    "Mozilla/5.0 (Mobile; rv:78.0) Gecko/78.0 Firefox/78.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Outlook-iOS-Android/1.0",
    "Apple-iPhone14C5/2004.67",
    "Apple-iPhone15C2/2106.80",
    "Android-Mail/2023.03.19.518795489.Release",
    "TrueConf/8.2.1 CFNetwork/1404.0.5 Darwin/22.3.0",
    "Zoom/5.16.10 CFNetwork/1490.0.4 Darwin/23.2.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.4.0",
};
const char* kPaths[] = {"/", "/owa/", "/api/v1/news?page=2", "/static/app.js", "/static/app.css",
                        "/intranet/docs/report.pdf", "/login", "/favicon.ico"};
const char* kDomains[] = {"", "@example.org", "CORP\\"};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BYTES [USERS]\n", argv[0]);
    return 2;
  }
  unsigned long long target = std::strtoull(argv[1], nullptr, 10);
  int users = argc > 2 ? std::atoi(argv[2]) : 10000;
  std::mt19937_64 rng(42);
  const int n_agents = static_cast<int>(sizeof kAgents / sizeof *kAgents);
  // Each user: 1-3 devices (agent indices) and a login style.
  std::vector<std::vector<int>> devices(static_cast<size_t>(users));
  for (auto& d : devices) {
    int n = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i) d.push_back(static_cast<int>(rng() % static_cast<unsigned>(n_agents)));
  }
  // Zipf-like activity: weight 1/(rank+1).
  std::vector<double> cdf(static_cast<size_t>(users));
  double sum = 0;
  for (int i = 0; i < users; ++i) cdf[static_cast<size_t>(i)] = (sum += 1.0 / (i + 1));
  std::uniform_real_distribution<double> u01(0, sum);
  static char buf[1 << 16];
  std::setvbuf(stdout, buf, _IOFBF, sizeof buf);
  unsigned long long written = 0;
  long long t = 1677628800;  // 2023-03-01T00:00:00Z
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char line[1024];
  while (written < target) {
    double x = u01(rng);
    int user = static_cast<int>(std::lower_bound(cdf.begin(), cdf.end(), x) - cdf.begin());
    if (user >= users) user = users - 1;
    const auto& devs = devices[static_cast<size_t>(user)];
    int agent = devs[rng() % devs.size()];
    if (rng() % 8 == 0) ++t;
    time_t tt = static_cast<time_t>(t);
    struct tm tmv;
    gmtime_r(&tt, &tmv);
    char login[64];
    bool anon = rng() % 20 == 0;
    const char* dom = kDomains[user % 3];
    if (anon) std::snprintf(login, sizeof login, "-");
    else if (dom[0] == 'C') std::snprintf(login, sizeof login, "%suser%05d", dom, user);
    else std::snprintf(login, sizeof login, "user%05d%s", user, dom);
    const char* ua = kAgents[agent];
    bool as = ua[0] == 'A' && (ua[1] == 'p' || ua[1] == 'n');
    std::string path = as ? "/Microsoft-Server-ActiveSync?Cmd=Sync&User=user" + std::to_string(user) +
                                "&DeviceId=D" + std::to_string(user * 7 + agent) + "&DeviceType=" +
                                (ua[1] == 'p' ? "iPhone" : "Android")
                          : kPaths[rng() % (sizeof kPaths / sizeof *kPaths)];
    int n = std::snprintf(line, sizeof line,
                          "10.%d.%d.%d - %s [%02d/%s/%04d:%02d:%02d:%02d +0300] \"%s %s HTTP/1.1\" %d %d \"-\" \"%s\"\n",
                          (user >> 16) & 255, (user >> 8) & 255, user & 255, login, tmv.tm_mday,
                          months[tmv.tm_mon], tmv.tm_year + 1900, tmv.tm_hour, tmv.tm_min, tmv.tm_sec,
                          as ? "POST" : "GET", path.c_str(), rng() % 50 == 0 ? 404 : 200,
                          static_cast<int>(rng() % 50000), ua);
    if (n <= 0) continue;
    std::fwrite(line, 1, static_cast<size_t>(n), stdout);
    written += static_cast<unsigned long long>(n);
  }
  return 0;
}
