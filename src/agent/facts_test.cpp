// Tests of the fact parsers (tables of strings) and of collect_facts over the fixture trees
// in tests/agent/fixtures/<distro>/, and of diff_facts (what a delta report carries).
#include "agent/facts.h"
#include "agent/agent.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace fw::agent {
namespace {

namespace json = boost::json;

TEST(OsRelease, Families) {
  struct Case {
    const char* text;
    const char* family;
    const char* name;
    const char* version;
  } cases[] = {
      {"NAME=\"Aurora OS\"\nID=auroraos\nVERSION_ID=4.0.2.249\n", "Aurora OS", "Aurora OS", "4.0.2.249"},
      {"NAME=\"Aurora OS\"\nID=sailfishos\nVERSION_ID=3.2\n", "Aurora OS", "Aurora OS", "3.2"},
      {"NAME=\"Sailfish OS\"\nID=sailfishos\nVERSION_ID=4.5.0.19\n", "Sailfish OS", "Sailfish OS", "4.5.0.19"},
      {"NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n", "Linux", "Debian GNU/Linux", "12"},
      {"NAME=Ubuntu\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"", "Linux", "Ubuntu", "22.04"},
      {"NAME=\"postmarketOS\"\nID=\"postmarketos\"\nID_LIKE=\"alpine\"\nVERSION_ID=\"v23.06\"\n", "Linux",
       "postmarketOS", "v23.06"},
      {"NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n", "Linux", "Arch Linux", "rolling"},
      {"NAME=\"Chrome OS\"\nID=chromeos\nVERSION_ID=119\n", "ChromeOS", "Chrome OS", "119"},
      {"ID=foo\n", "Linux", "foo", ""},
      {"# only a comment\n\n=novalue\nbad key=1\n", "Other", "", ""},
      {"", "Other", "", ""},
      {"NAME='Single Quoted'\r\nID=x\r\n", "Linux", "Single Quoted", ""},
      {"NAME=\"Esc \\\"aped\\\"\"\nID=y", "Linux", "Esc \"aped\"", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    OsInfo os = parse_os_release(c.text);
    EXPECT_EQ(os.family, c.family);
    EXPECT_EQ(os.name, c.name);
    EXPECT_EQ(os.version, c.version);
  }
}

TEST(Hardware, Parsers) {
  auto hw = parse_hw_release("NAME=\"Sony Xperia 10 III\"\nMER_HA_VENDOR=sony\nMER_HA_DEVICE=pdx213\n");
  ASSERT_TRUE(hw);
  EXPECT_EQ(hw->vendor, "sony");
  EXPECT_EQ(hw->model, "Sony Xperia 10 III");
  EXPECT_FALSE(parse_hw_release("FOO=bar\n"));

  auto dt = parse_device_tree(std::string_view("PINE64 PinePhone (1.2)\0", 23),
                              std::string_view("pine64,pinephone-1.2\0allwinner,sun50i-a64\0", 42));
  ASSERT_TRUE(dt);
  EXPECT_EQ(dt->vendor, "PINE64");
  EXPECT_EQ(dt->model, "PINE64 PinePhone (1.2)");
  ASSERT_EQ(dt->compatible.size(), 2u);
  EXPECT_EQ(dt->compatible[1], "allwinner,sun50i-a64");
  auto dt2 = parse_device_tree("", std::string_view("somevendor,board\0", 17));
  ASSERT_TRUE(dt2);
  EXPECT_EQ(dt2->vendor, "somevendor");
  EXPECT_EQ(dt2->model, "somevendor,board");
  EXPECT_FALSE(parse_device_tree("", ""));

  struct DmiCase {
    const char *vendor, *product, *want_vendor, *want_model;
    bool present;
  } dmi[] = {
      {"LENOVO\n", "20XW0026GE\n", "LENOVO", "20XW0026GE", true},
      {"To Be Filled By O.E.M.\n", "To Be Filled By O.E.M.\n", "", "", false},
      {"System manufacturer", "System Product Name", "", "", false},
      {"Dell Inc.", "Default string", "Dell Inc.", "", true},
      {"", "", "", "", false},
  };
  for (const auto& c : dmi) {
    SCOPED_TRACE(c.vendor);
    auto h = parse_dmi(c.vendor, c.product);
    ASSERT_EQ(h.has_value(), c.present);
    if (h) {
      EXPECT_EQ(h->vendor, c.want_vendor);
      EXPECT_EQ(h->model, c.want_model);
    }
  }
}

TEST(Hardware, DeviceType) {
  using T = model::DeviceType;
  struct Case {
    const char *chassis, *dmi, *family;
    bool dt;
    T want;
  } cases[] = {
      {"handset", "", "Linux", true, T::phone},   {"tablet", "", "Linux", true, T::tablet},
      {"laptop", "", "Linux", false, T::desktop}, {"", "10\n", "Linux", false, T::desktop},
      {"", "30", "Linux", false, T::tablet},      {"", "", "Aurora OS", true, T::phone},
      {"", "", "Sailfish OS", true, T::phone},    {"", "", "Linux", false, T::desktop},
      {"", "", "Linux", true, T::other},          {"", "abc", "Other", false, T::other},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.chassis) + "|" + c.dmi + "|" + c.family);
    EXPECT_EQ(device_type_for(c.chassis, c.dmi, c.family, c.dt), c.want);
  }
}

TEST(Packages, Dpkg) {
  auto apps = parse_dpkg_status(
      "Package: b\nStatus: install ok installed\nVersion: 2\n\n"
      "Package: a\nStatus: install ok installed\nVersion: 1\nDescription: x\n more\n\n"
      "Package: gone\nStatus: deinstall ok config-files\nVersion: 3\n\n"
      "Package: held\nStatus: hold ok installed\nVersion: 4\n\n"
      "Status: install ok installed\nVersion: 5\n\n"
      "garbage line\n\nPackage: a\nStatus: install ok installed\nVersion: 1\n");
  ASSERT_EQ(apps.size(), 3u);
  EXPECT_EQ(apps[0].id, "a");
  EXPECT_EQ(apps[0].version, "1");
  EXPECT_EQ(apps[1].id, "b");
  EXPECT_EQ(apps[2].id, "held");
  EXPECT_TRUE(parse_dpkg_status("").empty());
}

TEST(Packages, Apk) {
  auto apps = parse_apk_installed("P:musl\nV:1.2.4-r0\nT:libc\n\nP:phosh\nV:0.28\n\nV:noname\n\nX\n");
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].id, "musl");
  EXPECT_EQ(apps[0].version, "1.2.4-r0");
  EXPECT_EQ(apps[1].id, "phosh");
}

TEST(Packages, Rpm) {
  auto apps = parse_rpm_qa(
      "zeta\t1.0-1\tZ\nalpha\t2.0-3\tA summary\tmore\ngpg-pubkey\tabc-def\tkey\nnotabs\n\n\t1-1\tnoname\n");
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].id, "alpha");
  EXPECT_EQ(apps[0].version, "2.0-3");
  EXPECT_EQ(apps[1].id, "zeta");
}

TEST(Encryption, Parsers) {
  EXPECT_EQ(parse_crypttab("# c\n\nroot UUID=x none luks\nswap /dev/sda3 /dev/urandom swap\n"), 2);
  EXPECT_EQ(parse_crypttab(""), 0);
  EXPECT_TRUE(is_dm_crypt_uuid("CRYPT-LUKS2-abc-root\n"));
  EXPECT_TRUE(is_dm_crypt_uuid("CRYPT-PLAIN-swap"));
  EXPECT_FALSE(is_dm_crypt_uuid("LVM-abc"));
  EXPECT_FALSE(is_dm_crypt_uuid(""));
  EXPECT_EQ(root_mount_source("rootfs / rootfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n"), "/dev/sda1");
  EXPECT_EQ(root_mount_source("/dev/root / ext4 ro 0 0\n/dev/mapper/root / ext4 rw 0 0\n"),
            "/dev/mapper/root");
  EXPECT_EQ(root_mount_source("proc /proc proc rw 0 0\n"), "");
}

TEST(ScreenLock, Parsers) {
  auto a = parse_devicelock_settings("[desktop]\nnemo\\devicelock\\automatic_locking=5\n");
  ASSERT_TRUE(a.configured);
  EXPECT_TRUE(*a.configured);
  EXPECT_EQ(a.timeout_s, 300);
  auto b = parse_devicelock_settings("nemo\\devicelock\\automatic_locking=-1\n");
  ASSERT_TRUE(b.configured);
  EXPECT_FALSE(*b.configured);
  EXPECT_FALSE(parse_devicelock_settings("nemo\\devicelock\\automatic_locking=x\n").configured);
  auto c = parse_dconf_screensaver(
      "[org/gnome/desktop/session]\nidle-delay=uint32 600\n[org/gnome/desktop/screensaver]\nlock-enabled=false\n");
  ASSERT_TRUE(c.configured);
  EXPECT_FALSE(*c.configured);
  EXPECT_EQ(c.timeout_s, 600);
  EXPECT_FALSE(parse_dconf_screensaver("[other]\nlock-enabled=true\n").configured);
}

// ---- fixture trees ----

std::string fixture(const std::string& name) { return std::string(FW_SOURCE_DIR) + "/tests/agent/fixtures/" + name; }

// The rpm executor in tests: the captured `rpm -qa --queryformat` output beside the tree.
Result<std::string> fixture_rpm(const std::string& root) {
  std::ifstream in(root + "/rpm-qa.txt");
  if (!in) return fail(Errc::not_found, "no rpm-qa.txt", root);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string str_at(const json::object& facts, std::initializer_list<const char*> path) {
  const json::value* v = nullptr;
  const json::object* o = &facts;
  for (const char* k : path) {
    if (!o) return "<missing>";
    v = o->if_contains(k);
    if (!v) return "<missing>";
    o = v->if_object();
  }
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

TEST(CollectFacts, FixtureTrees) {
  struct Case {
    const char* distro;
    std::vector<std::pair<std::initializer_list<const char*>, const char*>> want;
    std::vector<const char*> app_ids;
  } cases[] = {
      {"aurora",
       {{{"os", "family"}, "Aurora OS"},
        {{"os", "version"}, "4.0.2.249"},
        {{"kernel", "release"}, "4.19.191-perf+"},
        {{"hostname"}, "aurora-phone-17"},
        {{"hardware", "vendor"}, "Open Mobile Platform"},
        {{"hardware", "model"}, "R-FON"},
        {{"hardware", "source"}, "hw-release"},
        {{"hardware", "type"}, "phone"},
        {{"hardware", "compatible"}, R"(["omp,rfon","qcom,sm6115"])"},
        {{"apps_source"}, "rpm"},
        {{"encryption", "root_encrypted"}, "true"},
        {{"encryption", "dm_crypt_devices"}, R"(["dm-0"])"},
        {{"security", "rooted"}, "false"},
        {{"security", "developer_mode"}, "false"},
        {{"screen_lock", "configured"}, "true"},
        {{"screen_lock", "timeout_s"}, "300"},
        {{"agent", "version"}, "9.9.9"}},
       {"bash", "kernel", "ru.omp.calendar", "ru.trueconf.client"}},
      {"sailfish",
       {{{"os", "family"}, "Sailfish OS"},
        {{"os", "version"}, "4.5.0.19"},
        {{"hardware", "vendor"}, "sony"},
        {{"hardware", "model"}, "Sony Xperia 10 III"},
        {{"hardware", "type"}, "phone"},
        {{"encryption", "root_encrypted"}, "false"},
        {{"encryption", "dm_crypt_devices"}, R"(["dm-0"])"},
        {{"security", "developer_mode"}, "true"},
        {{"security", "rooted"}, "false"},
        {{"screen_lock", "configured"}, "false"},
        {{"screen_lock", "timeout_s"}, "<missing>"}},
       {"harbour-whisperfish", "jolla-developer-mode", "sailfish-browser"}},
      {"debian",
       {{{"os", "family"}, "Linux"},
        {{"os", "name"}, "Debian GNU/Linux"},
        {{"os", "version"}, "12"},
        {{"hostname"}, "ws-petrov"},
        {{"hardware", "vendor"}, "LENOVO"},
        {{"hardware", "model"}, "20XW0026GE"},
        {{"hardware", "source"}, "dmi"},
        {{"hardware", "type"}, "desktop"},
        {{"apps_source"}, "dpkg"},
        {{"encryption", "root_encrypted"}, "true"},
        {{"encryption", "crypttab_entries"}, "1"},
        {{"screen_lock", "configured"}, "true"},
        {{"screen_lock", "timeout_s"}, "300"},
        {{"screen_lock", "source"}, "dconf"}},
       {"bash", "firefox-esr", "zoom"}},
      {"ubuntu",
       {{{"os", "family"}, "Linux"},
        {{"os", "name"}, "Ubuntu"},
        {{"os", "version"}, "22.04"},
        {{"hardware", "vendor"}, "<missing>"},
        {{"hardware", "type"}, "desktop"},
        {{"encryption", "root_encrypted"}, "false"},
        {{"security", "rooted"}, "true"},
        {{"screen_lock"}, "<missing>"}},
       {"openssh-server"}},
      {"postmarketos",
       {{{"os", "family"}, "Linux"},
        {{"os", "name"}, "postmarketOS"},
        {{"os", "version"}, "v23.06"},
        {{"hostname"}, "pinephone"},
        {{"hardware", "vendor"}, "PINE64"},
        {{"hardware", "model"}, "PINE64 PinePhone (1.2)"},
        {{"hardware", "source"}, "device-tree"},
        {{"hardware", "type"}, "phone"},
        {{"apps_source"}, "apk"},
        {{"encryption", "root_encrypted"}, "true"}},
       {"musl", "phosh"}},
      {"ubuntu-touch",
       {{{"os", "family"}, "Linux"},
        {{"hardware", "model"}, "Volla Phone"},
        {{"hardware", "vendor"}, "mediatek"},
        {{"security", "rooted"}, "true"},
        {{"apps_source"}, "<missing>"}},
       {}},
      {"empty",
       {{{"os"}, "<missing>"},
        {{"kernel"}, "<missing>"},
        {{"hardware", "type"}, "other"},
        {{"hardware", "vendor"}, "<missing>"},
        {{"encryption", "root_encrypted"}, "false"},
        {{"security", "rooted"}, "false"},
        {{"agent", "version"}, "9.9.9"}},
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.distro);
    CollectOptions opts;
    opts.root = fixture(c.distro);
    opts.rpm_query = fixture_rpm;
    opts.agent_version = "9.9.9";
    json::object facts = collect_facts(opts);
    for (const auto& [path, want] : c.want) {
      std::string p;
      for (const char* k : path) p += std::string(k) + ".";
      EXPECT_EQ(str_at(facts, path), want) << p;
    }
    std::vector<std::string> ids;
    for (const auto& a : apps_from_facts(facts)) ids.push_back(a.id);
    EXPECT_EQ(ids, std::vector<std::string>(c.app_ids.begin(), c.app_ids.end()));
  }
}

// An rpm database that cannot be queried (rpm missing, failing) must not read as "no apps".
TEST(CollectFacts, FailingRpmQueryIsAnErrorNotAnEmptyAppList) {
  CollectOptions opts;
  opts.root = fixture("aurora");
  opts.rpm_query = [](const std::string& root) -> Result<std::string> {
    return fail(Errc::io_error, "rpm -qa exited with 1", root);
  };
  json::object facts = collect_facts(opts);
  EXPECT_EQ(str_at(facts, {"apps_source"}), "rpm");
  EXPECT_FALSE(facts.contains("apps"));
  std::string err = str_at(facts, {"apps_error"});
  EXPECT_NE(err.find("rpm -qa exited with 1"), std::string::npos) << err;
  EXPECT_TRUE(apps_from_facts(facts).empty());
}

TEST(DiffFacts, ChangedAndRemovedKeys) {
  struct Case {
    const char* name;
    const char* old_facts;
    const char* now_facts;
    const char* changed;
    std::vector<std::string> removed;
  } cases[] = {
      {"same", R"({"os":{"id":"a"},"apps":[]})", R"({"os":{"id":"a"},"apps":[]})", "{}", {}},
      {"changed and new", R"({"os":{"id":"a"}})", R"({"os":{"id":"b"},"hostname":"h"})",
       R"({"os":{"id":"b"},"hostname":"h"})", {}},
      {"removed", R"({"os":{"id":"a"},"screen_lock":{}})", R"({"os":{"id":"a"}})", "{}", {"screen_lock"}},
      {"apps gone without an error", R"({"apps":[{"id":"x"}]})", R"({})", "{}", {"apps"}},
      {"apps unreadable: the last list stands", R"({"apps_source":"rpm","apps":[{"id":"x"}]})",
       R"({"apps_source":"rpm","apps_error":"rpm: no rpm"})", R"({"apps_error":"rpm: no rpm"})", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto d = diff_facts(json::parse(c.old_facts).as_object(), json::parse(c.now_facts).as_object());
    EXPECT_EQ(json::serialize(d.changed), c.changed);
    EXPECT_EQ(d.removed, c.removed);
  }
}

TEST(CollectFacts, MissingRootIsEmptyNotError) {
  CollectOptions opts;
  opts.root = "/nonexistent/fleetward/root";
  json::object facts = collect_facts(opts);
  EXPECT_FALSE(facts.contains("os"));
  EXPECT_TRUE(facts.contains("agent"));
}

}  // namespace
}  // namespace fw::agent
