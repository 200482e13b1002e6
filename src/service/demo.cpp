// The demo organisation (see demo.h). Determinism: one splitmix64 generator seeded from
// the options, consumed in a fixed order; no std:: distributions (their output differs
// between standard libraries), no unordered containers, no wall clock.
#include "service/demo.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include <fmt/format.h>

#include "service/inventory.h"
#include "util/strings.h"

namespace fw::service {

namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed ^ 0x6a09e667f3bcc909ULL) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1))); }
  bool chance(int percent) { return below(1000) < static_cast<uint64_t>(percent * 10); }
  bool chance_permille(int permille) { return below(1000) < static_cast<uint64_t>(permille); }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

 private:
  uint64_t s_;
};

template <class T>
struct Weighted {
  int weight;
  T value;
};

template <class T>
const T& pick_weighted(Rng& rng, const std::vector<Weighted<T>>& items) {
  int total = 0;
  for (const auto& i : items) total += i.weight;
  int x = static_cast<int>(rng.below(static_cast<uint64_t>(total)));
  for (const auto& i : items) {
    if (x < i.weight) return i.value;
    x -= i.weight;
  }
  return items.back().value;
}

// ---- The organisation ----

struct UnitSpec {
  const char* path;
  const char* name;     // English
  const char* name_ru;  // Russian
  const char* kind;
  int weight;  // share of the staff (per mille of people)
};

const std::vector<UnitSpec>& unit_specs() {
  static const std::vector<UnitSpec> specs = {
      {"/administration", "Central Administration", "Центральный аппарат", "administration", 55},
      {"/administration/domestic-policy", "Domestic Policy Department", "Департамент внутренней политики",
       "department", 140},
      {"/administration/public-projects", "Public Projects Department", "Департамент общественных проектов",
       "department", 130},
      {"/administration/state-council-support", "State Council Support Department",
       "Департамент обеспечения Государственного совета", "department", 120},
      {"/administration/ict-development", "ICT Development Department", "Департамент развития ИКТ", "department",
       155},
      {"/regions", "Regional Offices", "Региональные представительства", "group", 0},
      {"/regions/tver", "Tver Regional Office", "Тверское региональное представительство", "region", 48},
      {"/regions/kaluga", "Kaluga Regional Office", "Калужское региональное представительство", "region", 38},
      {"/regions/tula", "Tula Regional Office", "Тульское региональное представительство", "region", 44},
      {"/regions/ryazan", "Ryazan Regional Office", "Рязанское региональное представительство", "region", 36},
      {"/regions/vladimir", "Vladimir Regional Office", "Владимирское региональное представительство", "region", 40},
      {"/regions/yaroslavl", "Yaroslavl Regional Office", "Ярославское региональное представительство", "region",
       46},
      {"/regions/smolensk", "Smolensk Regional Office", "Смоленское региональное представительство", "region", 34},
      {"/regions/kostroma", "Kostroma Regional Office", "Костромское региональное представительство", "region", 26},
      {"/regions/ivanovo", "Ivanovo Regional Office", "Ивановское региональное представительство", "region", 32},
      {"/regions/bryansk", "Bryansk Regional Office", "Брянское региональное представительство", "region", 36},
  };
  return specs;
}

// A name in both languages: the Latin transliteration (English names and every login, so
// logins and e-mail addresses are ASCII and the same whatever the language) and Russian.
struct Name {
  std::string en, ru;
};

const std::vector<Name> kMaleFirst = {
    {"Aleksandr", "Александр"}, {"Dmitry", "Дмитрий"},     {"Sergey", "Сергей"},       {"Andrey", "Андрей"},
    {"Aleksey", "Алексей"},     {"Maksim", "Максим"},      {"Ivan", "Иван"},           {"Mikhail", "Михаил"},
    {"Nikolay", "Николай"},     {"Vladimir", "Владимир"},  {"Pavel", "Павел"},         {"Artyom", "Артём"},
    {"Evgeny", "Евгений"},      {"Oleg", "Олег"},          {"Igor", "Игорь"},          {"Roman", "Роман"},
    {"Denis", "Денис"},         {"Konstantin", "Константин"}, {"Yury", "Юрий"},        {"Viktor", "Виктор"},
    {"Anton", "Антон"},         {"Kirill", "Кирилл"},      {"Vadim", "Вадим"},         {"Stanislav", "Станислав"},
    {"Georgy", "Георгий"},      {"Boris", "Борис"},        {"Gleb", "Глеб"},           {"Ilya", "Илья"},
    {"Timur", "Тимур"},         {"Vyacheslav", "Вячеслав"}};
const std::vector<Name> kFemaleFirst = {
    {"Elena", "Елена"},       {"Olga", "Ольга"},         {"Tatyana", "Татьяна"},     {"Natalya", "Наталья"},
    {"Irina", "Ирина"},       {"Svetlana", "Светлана"},  {"Anna", "Анна"},           {"Maria", "Мария"},
    {"Ekaterina", "Екатерина"}, {"Yulia", "Юлия"},       {"Anastasia", "Анастасия"}, {"Marina", "Марина"},
    {"Darya", "Дарья"},       {"Ksenia", "Ксения"},      {"Galina", "Галина"},       {"Lyudmila", "Людмила"},
    {"Viktoria", "Виктория"}, {"Polina", "Полина"},      {"Alina", "Алина"},         {"Vera", "Вера"},
    {"Valentina", "Валентина"}, {"Larisa", "Лариса"},    {"Oksana", "Оксана"},       {"Nadezhda", "Надежда"},
    {"Sofia", "София"},       {"Alyona", "Алёна"},       {"Kristina", "Кристина"},   {"Yana", "Яна"},
    {"Evgenia", "Евгения"},   {"Inna", "Инна"}};
// Masculine forms; the feminine adds "a" / "а" (all end in -ov, -ev or -in).
const std::vector<Name> kSurnames = {
    {"Ivanov", "Иванов"},         {"Smirnov", "Смирнов"},       {"Kuznetsov", "Кузнецов"},
    {"Popov", "Попов"},           {"Vasilyev", "Васильев"},     {"Petrov", "Петров"},
    {"Sokolov", "Соколов"},       {"Mikhaylov", "Михайлов"},    {"Novikov", "Новиков"},
    {"Fyodorov", "Фёдоров"},      {"Morozov", "Морозов"},       {"Volkov", "Волков"},
    {"Alekseev", "Алексеев"},     {"Lebedev", "Лебедев"},       {"Semyonov", "Семёнов"},
    {"Egorov", "Егоров"},         {"Pavlov", "Павлов"},         {"Kozlov", "Козлов"},
    {"Stepanov", "Степанов"},     {"Nikolaev", "Николаев"},     {"Orlov", "Орлов"},
    {"Andreev", "Андреев"},       {"Makarov", "Макаров"},       {"Nikitin", "Никитин"},
    {"Zakharov", "Захаров"},      {"Zaytsev", "Зайцев"},        {"Solovyov", "Соловьёв"},
    {"Borisov", "Борисов"},       {"Yakovlev", "Яковлев"},      {"Grigoryev", "Григорьев"},
    {"Romanov", "Романов"},       {"Vorobyov", "Воробьёв"},     {"Sergeev", "Сергеев"},
    {"Kuzmin", "Кузьмин"},        {"Frolov", "Фролов"},         {"Aleksandrov", "Александров"},
    {"Dmitriev", "Дмитриев"},     {"Korolev", "Королёв"},       {"Gusev", "Гусев"},
    {"Kiselev", "Киселёв"},       {"Ilyin", "Ильин"},           {"Maksimov", "Максимов"},
    {"Polyakov", "Поляков"},      {"Sorokin", "Сорокин"},       {"Vinogradov", "Виноградов"},
    {"Kovalyov", "Ковалёв"},      {"Belov", "Белов"},           {"Medvedev", "Медведев"},
    {"Antonov", "Антонов"},       {"Tarasov", "Тарасов"},       {"Zhukov", "Жуков"},
    {"Baranov", "Баранов"},       {"Filippov", "Филиппов"},     {"Komarov", "Комаров"},
    {"Davydov", "Давыдов"},       {"Belyaev", "Беляев"},        {"Gerasimov", "Герасимов"},
    {"Bogdanov", "Богданов"},     {"Osipov", "Осипов"},         {"Sidorov", "Сидоров"},
    {"Matveev", "Матвеев"},       {"Titov", "Титов"},           {"Markov", "Марков"},
    {"Mironov", "Миронов"},       {"Krylov", "Крылов"},         {"Kulikov", "Куликов"},
    {"Karpov", "Карпов"},         {"Vlasov", "Власов"},         {"Melnikov", "Мельников"},
    {"Denisov", "Денисов"},       {"Gavrilov", "Гаврилов"},     {"Tikhonov", "Тихонов"},
    {"Kazakov", "Казаков"},       {"Afanasyev", "Афанасьев"},   {"Danilov", "Данилов"},
    {"Savelyev", "Савельев"},     {"Timofeev", "Тимофеев"},     {"Fomin", "Фомин"},
    {"Chernov", "Чернов"},        {"Abramov", "Абрамов"},       {"Martynov", "Мартынов"},
    {"Efimov", "Ефимов"},         {"Fedotov", "Федотов"},       {"Shcherbakov", "Щербаков"},
    {"Nazarov", "Назаров"},       {"Kalinin", "Калинин"},       {"Isaev", "Исаев"},
    {"Chernyshev", "Чернышёв"},   {"Bykov", "Быков"},           {"Maslov", "Маслов"},
    {"Rodionov", "Родионов"},     {"Konovalov", "Коновалов"},   {"Lazarev", "Лазарев"},
    {"Voronin", "Воронин"},       {"Klimov", "Климов"},         {"Filatov", "Филатов"},
    {"Ponomaryov", "Пономарёв"},  {"Golubev", "Голубев"},       {"Kudryavtsev", "Кудрявцев"},
    {"Prokhorov", "Прохоров"},    {"Naumov", "Наумов"},         {"Potapov", "Потапов"},
    {"Zhuravlyov", "Журавлёв"},   {"Ovchinnikov", "Овчинников"}, {"Trofimov", "Трофимов"},
    {"Leonov", "Леонов"},         {"Sobolev", "Соболев"},       {"Ermakov", "Ермаков"},
    {"Kolesnikov", "Колесников"}, {"Goncharov", "Гончаров"},    {"Emelyanov", "Емельянов"},
    {"Nikiforov", "Никифоров"},   {"Grachev", "Грачёв"},        {"Kotov", "Котов"},
    {"Grishin", "Гришин"},        {"Efremov", "Ефремов"},       {"Arkhipov", "Архипов"},
    {"Gromov", "Громов"},         {"Kirillov", "Кириллов"},     {"Malyshev", "Малышев"},
    {"Panov", "Панов"},           {"Moiseev", "Моисеев"},       {"Rumyantsev", "Румянцев"},
    {"Akimov", "Акимов"},         {"Kondratyev", "Кондратьев"}, {"Biryukov", "Бирюков"},
    {"Gorbunov", "Горбунов"},     {"Anisimov", "Анисимов"},     {"Eremin", "Ерёмин"},
    {"Tikhomirov", "Тихомиров"},  {"Galkin", "Галкин"},         {"Lukyanov", "Лукьянов"},
    {"Mikheev", "Михеев"},        {"Skvortsov", "Скворцов"},    {"Yudin", "Юдин"},
    {"Belousov", "Белоусов"},     {"Nesterov", "Нестеров"},     {"Simonov", "Симонов"},
    {"Prokofyev", "Прокофьев"},   {"Kharitonov", "Харитонов"},  {"Knyazev", "Князев"},
    {"Tsvetkov", "Цветков"},      {"Mitrofanov", "Митрофанов"}, {"Voronov", "Воронов"},
    {"Aksyonov", "Аксёнов"},      {"Maltsev", "Мальцев"},       {"Loginov", "Логинов"},
    {"Gorshkov", "Горшков"},      {"Savin", "Савин"},           {"Krasnov", "Краснов"},
    {"Mayorov", "Майоров"},       {"Demidov", "Демидов"},       {"Eliseev", "Елисеев"},
    {"Rybakov", "Рыбаков"},       {"Safonov", "Сафонов"},       {"Plotnikov", "Плотников"},
    {"Demin", "Дёмин"},           {"Khokhlov", "Хохлов"},       {"Zhdanov", "Жданов"},
    {"Shubin", "Шубин"}};
// Russian names carry a patronymic (masculine, feminine), official style "Фамилия Имя
// Отчество". Drawn from a generator of their own, so the English data stays the same.
struct Patronymic {
  std::string masculine, feminine;
};
const std::vector<Patronymic> kPatronymics = {
    {"Александрович", "Александровна"}, {"Дмитриевич", "Дмитриевна"},   {"Сергеевич", "Сергеевна"},
    {"Андреевич", "Андреевна"},         {"Алексеевич", "Алексеевна"},   {"Иванович", "Ивановна"},
    {"Михайлович", "Михайловна"},       {"Николаевич", "Николаевна"},   {"Владимирович", "Владимировна"},
    {"Павлович", "Павловна"},           {"Евгеньевич", "Евгеньевна"},   {"Олегович", "Олеговна"},
    {"Игоревич", "Игоревна"},           {"Юрьевич", "Юрьевна"},         {"Викторович", "Викторовна"},
    {"Анатольевич", "Анатольевна"},     {"Валерьевич", "Валерьевна"},   {"Борисович", "Борисовна"},
    {"Геннадьевич", "Геннадьевна"},     {"Петрович", "Петровна"},       {"Васильевич", "Васильевна"},
    {"Константинович", "Константиновна"}, {"Фёдорович", "Фёдоровна"},       {"Вячеславович", "Вячеславовна"}};

// Job titles: {English, Russian}.
const std::vector<Name> kStaffTitles = {{"Consultant", "Консультант"},
                                        {"Advisor", "Советник"},
                                        {"Senior specialist", "Ведущий специалист"},
                                        {"Specialist", "Специалист"},
                                        {"Chief specialist", "Главный специалист"},
                                        {"Analyst", "Аналитик"},
                                        {"Assistant", "Помощник"},
                                        {"Expert", "Эксперт"}};
const Name kTopHeadTitle{"Head of Administration", "Руководитель аппарата"};
const Name kRegionHeadTitle{"Head of regional office", "Руководитель регионального представительства"};
const Name kDepartmentHeadTitle{"Head of department", "Директор департамента"};
const Name kDeputyTitle{"Deputy head", "Заместитель руководителя"};

std::string login_of(const std::string& first, const std::string& last) {
  return to_lower_ascii(first.substr(0, 1) + last);
}

// ---- Devices ----

struct Model {
  std::string vendor, model, family;
  model::DeviceType type;
  std::vector<Weighted<std::string>> versions;
};

std::vector<Weighted<std::string>> ios_versions(bool new_only) {
  std::vector<Weighted<std::string>> v = {{4, "14.8.1"}, {3, "15.4.1"}, {5, "15.6.1"}, {5, "15.7"},
                                          {8, "15.7.2"}, {6, "15.7.3"}, {4, "16.0.2"}, {6, "16.1.1"},
                                          {9, "16.1.2"}, {14, "16.2"},  {13, "16.3"},  {16, "16.3.1"}};
  if (new_only) std::erase_if(v, [](const auto& w) { return !w.value.starts_with("16"); });
  return v;
}

std::vector<Weighted<std::string>> android_versions(int lo, int hi) {
  static const std::map<int, int> weight = {{9, 5}, {10, 11}, {11, 22}, {12, 33}, {13, 29}};
  std::vector<Weighted<std::string>> v;
  for (auto [ver, w] : weight) {
    if (ver >= lo && ver <= hi) v.push_back({w, std::to_string(ver)});
  }
  return v;
}

const std::vector<Weighted<Model>>& phone_models() {
  using T = model::DeviceType;
  static const std::vector<Weighted<Model>> m = [] {
    std::vector<Weighted<Model>> v;
    auto iphone = [&](int w, const char* name, bool new_only) {
      v.push_back({w, {"Apple", name, "iOS", T::phone, ios_versions(new_only)}});
    };
    iphone(30, "iPhone 8", false);
    iphone(25, "iPhone X", false);
    iphone(45, "iPhone XR", false);
    iphone(60, "iPhone 11", false);
    iphone(25, "iPhone 11 Pro", false);
    iphone(35, "iPhone SE (2nd generation)", false);
    iphone(55, "iPhone 12", false);
    iphone(30, "iPhone 12 Pro", false);
    iphone(60, "iPhone 13", false);
    iphone(35, "iPhone 13 Pro", false);
    iphone(15, "iPhone 13 mini", false);
    iphone(30, "iPhone 14", true);
    iphone(25, "iPhone 14 Pro", true);
    iphone(15, "iPhone 14 Pro Max", true);
    auto android = [&](int w, const char* vendor, const char* name, int lo, int hi) {
      v.push_back({w, {vendor, name, "Android", T::phone, android_versions(lo, hi)}});
    };
    android(20, "Samsung", "Galaxy A12", 10, 12);
    android(22, "Samsung", "Galaxy A32", 11, 13);
    android(30, "Samsung", "Galaxy A52", 11, 13);
    android(22, "Samsung", "Galaxy A53 5G", 12, 13);
    android(12, "Samsung", "Galaxy A72", 11, 13);
    android(14, "Samsung", "Galaxy S20 FE", 10, 13);
    android(16, "Samsung", "Galaxy S21", 11, 13);
    android(14, "Samsung", "Galaxy S22", 12, 13);
    android(8, "Samsung", "Galaxy S22 Ultra", 12, 13);
    android(8, "Samsung", "Galaxy Note20", 10, 13);
    android(9, "Samsung", "Galaxy A10", 9, 11);
    android(24, "Xiaomi", "Redmi Note 10 Pro", 11, 13);
    android(22, "Xiaomi", "Redmi Note 11", 11, 13);
    android(12, "Xiaomi", "Redmi 9C", 10, 11);
    android(12, "Xiaomi", "Redmi Note 8 Pro", 9, 11);
    android(12, "Xiaomi", "Xiaomi 11T", 11, 13);
    android(9, "Xiaomi", "Xiaomi 12", 12, 13);
    android(10, "Xiaomi", "POCO X3 Pro", 11, 13);
    android(8, "Xiaomi", "Mi 11 Lite", 11, 13);
    android(12, "Huawei", "P30 Pro", 9, 10);
    android(10, "Huawei", "P30 lite", 9, 10);
    android(6, "Huawei", "Mate 20", 9, 10);
    android(14, "Honor", "Honor 50", 11, 12);
    android(12, "Honor", "Honor X8", 11, 12);
    android(8, "Honor", "Honor 70", 12, 12);
    android(8, "Honor", "Honor 10 Lite", 9, 10);
    android(7, "Honor", "Magic4 Lite", 11, 12);
    android(10, "realme", "realme 8", 11, 13);
    android(8, "realme", "realme 9 Pro", 12, 13);
    android(7, "realme", "realme C35", 11, 12);
    android(6, "OPPO", "A54", 10, 12);
    android(5, "OPPO", "Reno7", 11, 13);
    android(6, "vivo", "Y31", 10, 12);
    android(4, "vivo", "V23e", 11, 13);
    android(5, "Tecno", "Spark 8C", 11, 11);
    android(4, "Nokia", "G21", 11, 12);
    android(3, "Motorola", "moto g31", 11, 12);
    std::vector<Weighted<std::string>> harmony = {{30, "2.0.0"}, {25, "2.0.1"}, {45, "3.0.0"}};
    auto hm = [&](int w, const char* name) { v.push_back({w, {"Huawei", name, "HarmonyOS", T::phone, harmony}}); };
    hm(20, "P40 Pro");
    hm(16, "P50");
    hm(14, "Mate 40 Pro");
    hm(16, "nova 9");
    hm(10, "nova 10");
    hm(8, "Mate 50 Pro");
    hm(10, "P40 lite");
    std::vector<Weighted<std::string>> aurora = {{60, "4.0.2"}, {40, "4.0.1"}};
    v.push_back({4, {"F+ tech", "R570E", "Aurora OS", T::phone, aurora}});
    v.push_back({3, {"Aquarius", "NS220", "Aurora OS", T::phone, aurora}});
    v.push_back({3, {"INOI", "R7", "Aurora OS", T::phone, aurora}});
    return v;
  }();
  return m;
}

const std::vector<Weighted<Model>>& secondary_models() {
  using T = model::DeviceType;
  static const std::vector<Weighted<Model>> m = [] {
    std::vector<Weighted<Model>> v;
    std::vector<Weighted<std::string>> ipados = {{10, "15.7"}, {8, "15.7.3"}, {12, "16.1.1"}, {18, "16.2"}, {20, "16.3"}};
    v.push_back({30, {"Apple", "iPad (9th generation)", "iPadOS", T::tablet, ipados}});
    v.push_back({18, {"Apple", "iPad Air (4th generation)", "iPadOS", T::tablet, ipados}});
    v.push_back({12, {"Apple", "iPad Pro 11-inch (3rd generation)", "iPadOS", T::tablet, ipados}});
    v.push_back({8, {"Apple", "iPad mini (6th generation)", "iPadOS", T::tablet, ipados}});
    v.push_back({10, {"Samsung", "Galaxy Tab A8", "Android", T::tablet, android_versions(11, 13)}});
    v.push_back({6, {"Samsung", "Galaxy Tab S7", "Android", T::tablet, android_versions(10, 13)}});
    v.push_back({5, {"Huawei", "MatePad 11", "HarmonyOS", T::tablet, {{50, "2.0.0"}, {50, "3.0.0"}}}});
    std::vector<Weighted<std::string>> win = {{65, "10.0.19045"}, {10, "10.0.19044"}, {25, "10.0.22621"}};
    v.push_back({22, {"Lenovo", "ThinkPad T14", "Windows", T::desktop, win}});
    v.push_back({16, {"HP", "ProDesk 400 G7", "Windows", T::desktop, win}});
    v.push_back({10, {"Aquarius", "Cmp NS685U", "Windows", T::desktop, win}});
    v.push_back({8, {"Apple", "MacBook Air (M1, 2020)", "macOS", T::desktop, {{40, "13.2.1"}, {35, "12.6.3"}, {25, "13.1"}}}});
    v.push_back({9, {"ICL", "RAY Desktop", "Linux", T::desktop, {{70, "Astra Linux 1.7"}, {30, "ALT 10"}}}});
    // A second phone for some.
    v.push_back({28, {"", "", "", T::phone, {}}});
    return v;
  }();
  return m;
}

struct AppSpec {
  std::string id, name;
  std::vector<std::string> versions;
};

const AppSpec kZoom{"us.zoom.videomeetings", "Zoom", {"5.10.4", "5.12.6", "5.13.3", "5.13.5"}};
const AppSpec kTrueConf{"ru.trueconf.client", "TrueConf", {"4.2.4", "4.3.1", "5.0.1", "5.1.0"}};
const std::vector<AppSpec> kCommonApps = {
    {"org.telegram.messenger", "Telegram", {"9.3.3", "9.4.2", "9.5.0"}},
    {"com.whatsapp", "WhatsApp", {"2.23.2.76", "2.23.3.77", "2.23.4.79"}},
    {"ru.yandex.searchplugin", "Yandex", {"22.120", "23.11", "23.21"}},
    {"ru.rostel", "Gosuslugi", {"4.11.0", "4.12.1", "4.13.0"}},
    {"ru.sberbankmobile", "SberBank Online", {"14.2.0", "14.4.0"}},
    {"com.microsoft.office.outlook", "Microsoft Outlook", {"4.2301.1", "4.2304.0"}},
    {"ru.mail.mailapp", "Mail.ru", {"14.38.0", "14.40.1"}},
    {"ru.yandex.disk", "Yandex Disk", {"5.50", "5.62"}},
};

model::App make_app(Rng& rng, const AppSpec& s) { return {s.id, s.name, rng.pick(s.versions)}; }

}  // namespace

DemoData generate_demo(const DemoOptions& opts) {
  DemoData out;
  Rng rng(opts.seed);
  const int n_devices = std::clamp(opts.devices, 1, 1000000);
  const int n_people = std::max(20, static_cast<int>((static_cast<int64_t>(n_devices) * 2000 + 1300) / 2600));

  // Units, and how many people each gets (largest remainder, in spec order).
  const auto& specs = unit_specs();
  int total_weight = 0;
  for (const auto& s : specs) total_weight += s.weight;
  std::vector<int> counts(specs.size());
  std::vector<std::pair<int64_t, size_t>> rema;
  int assigned = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    int64_t num = static_cast<int64_t>(n_people) * specs[i].weight;
    counts[i] = static_cast<int>(num / total_weight);
    assigned += counts[i];
    rema.push_back({-(num % total_weight), i});
  }
  std::sort(rema.begin(), rema.end());
  for (size_t k = 0; assigned < n_people; ++k, ++assigned) ++counts[rema[k % rema.size()].second];

  for (const auto& s : specs) {
    model::OrgUnit u;
    u.path = s.path;
    u.name = opts.lang == policy::Lang::ru ? s.name_ru : s.name;
    u.kind = s.kind;
    u.timezone = "Europe/Moscow";
    normalize(u);
    out.units.push_back(std::move(u));
  }

  // People: each unit's head first, then team leads (one per ~10 staff), then staff.
  std::set<std::string> logins;
  const bool ru = opts.lang == policy::Lang::ru;
  Rng patronymic_rng(opts.seed ^ 0x5041545259ULL);  // Russian only: leaves `rng` as in English
  std::string top_head;  // head of /administration: every other unit head reports to them
  int pid = 0;
  auto new_person = [&](const std::string& unit, const std::string& manager, const Name& title) {
    bool female = rng.chance(52);
    const Name& first = female ? rng.pick(kFemaleFirst) : rng.pick(kMaleFirst);
    Name last = rng.pick(kSurnames);
    if (female) last.en += "a", last.ru += "а";
    std::string login = login_of(first.en, last.en);
    for (int k = 2; logins.contains(login); ++k) login = login_of(first.en, last.en) + std::to_string(k);
    logins.insert(login);
    model::Person p;
    p.id = fmt::format("p-{:05d}", ++pid);
    if (ru) {
      const Patronymic& pat = patronymic_rng.pick(kPatronymics);
      p.name = last.ru + " " + first.ru + " " + (female ? pat.feminine : pat.masculine);
    } else {
      p.name = first.en + " " + last.en;
    }
    p.login = login;
    p.email = login + "@gov.example";
    p.org_unit_path = unit;
    p.manager_id = manager;
    p.title = ru ? title.ru : title.en;
    out.people.push_back(p);
    return p.id;
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    int n = counts[i];
    if (n == 0) continue;
    std::string unit = specs[i].path;
    bool is_top = unit == "/administration";
    std::string head = new_person(unit, is_top ? "" : top_head,
                                  is_top ? kTopHeadTitle
                                         : (specs[i].kind == std::string("region") ? kRegionHeadTitle
                                                                                   : kDepartmentHeadTitle));
    if (is_top) top_head = head;
    --n;
    int leads = n > 12 ? n / 11 : 0;
    std::vector<std::string> lead_ids;
    for (int k = 0; k < leads; ++k) lead_ids.push_back(new_person(unit, head, kDeputyTitle));
    n -= leads;
    for (int k = 0; k < n; ++k) {
      std::string mgr = lead_ids.empty() ? head : lead_ids[static_cast<size_t>(k) % lead_ids.size()];
      new_person(unit, mgr, rng.pick(kStaffTitles));
    }
  }

  // Devices: everyone's main phone first, then tablets, desktops and second phones for a
  // random subset; about 2% of devices are seen in logs but not attributed to anyone.
  const int64_t now = to_unix(opts.now);
  for (int i = 0; i < n_devices; ++i) {
    model::Device d;
    d.id = fmt::format("dev-{:06d}", i + 1);
    bool primary = i < n_people;
    const Model* m = &pick_weighted(rng, primary ? phone_models() : secondary_models());
    if (m->family.empty()) m = &pick_weighted(rng, phone_models());  // "second phone"
    d.vendor = m->vendor;
    d.model = m->model;
    d.os_family = m->family;
    d.type = m->type;
    d.os_version = pick_weighted(rng, m->versions);
    if (primary) {
      d.owner_id = out.people[static_cast<size_t>(i)].id;
    } else if (!rng.chance(2)) {
      d.owner_id = out.people[rng.below(out.people.size())].id;
    }
    // How fleetward knows it: an enrolled agent, an access log, or the asset register.
    int managed_pct = d.os_family == "Aurora OS" ? 100 : d.type == model::DeviceType::desktop ? 70 : 55;
    d.managed = !d.owner_id.empty() && rng.chance(managed_pct);
    if (d.managed) d.source = model::DeviceSource::agent;
    else d.source = rng.chance(70) ? model::DeviceSource::import : model::DeviceSource::log;
    // Last seen: mostly this week, some stale.
    int64_t age = rng.chance(80) ? rng.range(0, 7 * 86400) : rng.chance(75) ? rng.range(7 * 86400, 45 * 86400)
                                                                           : rng.range(45 * 86400, 180 * 86400);
    d.last_seen = from_unix(now - age);
    d.first_seen = from_unix(now - age - rng.range(20 * 86400, 900 * 86400));
    // Apps.
    if (d.source != model::DeviceSource::log) {
      if (d.os_family != "Aurora OS" && rng.chance(d.type == model::DeviceType::desktop ? 35 : 22)) {
        d.apps.push_back(make_app(rng, kZoom));
      }
      if (rng.chance(d.os_family == "Aurora OS" ? 90 : 34)) d.apps.push_back(make_app(rng, kTrueConf));
      if (d.type != model::DeviceType::desktop && d.os_family != "Aurora OS") {
        for (const auto& a : kCommonApps) {
          if (rng.chance(45)) d.apps.push_back(make_app(rng, a));
        }
      }
      std::sort(d.apps.begin(), d.apps.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    }
    if (d.managed) {
      d.facts_json = fmt::format(R"({{"encrypted":{},"screen_lock":{}}})", rng.chance(92) ? "true" : "false",
                                 rng.chance(95) ? "true" : "false");
    }
    out.devices.push_back(std::move(d));
  }
  return out;
}

Result<DemoSummary> build_demo(store::Store& store, const DemoOptions& opts, const Clock& clock) {
  DemoData data = generate_demo(opts);
  if (opts.progress)
    opts.progress("inventory: " + std::to_string(data.units.size()) + " org units, " +
                  std::to_string(data.people.size()) + " people, " + std::to_string(data.devices.size()) + " devices");
  Change c{"demo", opts.now};
  FW_TRY_STATUS(store.write([&](store::Tx& tx) -> Status {
    for (const auto& u : data.units) FW_TRY_STATUS(put_org_unit(tx, c, u, PutMode::create));
    for (const auto& p : data.people) FW_TRY_STATUS(put_person(tx, c, p, PutMode::create));
    for (const auto& d : data.devices) FW_TRY_STATUS(put_device(tx, c, d, PutMode::create));
    FW_TRY_STATUS(tx.put_setting("demo.seed", std::to_string(opts.seed)));
    FW_TRY_STATUS(tx.put_setting("demo.now", format_time(opts.now)));
    FW_TRY_STATUS(tx.put_setting("org.lang", opts.lang == policy::Lang::ru ? "ru" : "en"));
    return {};
  }));
  FW_TRY_STATUS(run_demo_extensions(store, opts, data, clock));
  return DemoSummary{data.units.size(), data.people.size(), data.devices.size()};
}

}  // namespace fw::service
