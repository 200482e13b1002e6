// CSV export of list endpoints: JSON list items -> RFC 4180 CSV (UTF-8 with a byte-order
// mark so that spreadsheet programs read Cyrillic correctly). Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <boost/json.hpp>

namespace fw::server {

// Accumulates rows. Columns are the keys of the first item, in order; later items' extra
// keys are ignored, missing keys give empty cells. Nested values: arrays of scalars join
// with "; ", arrays of objects join their "id" (or "name") fields, objects become JSON text.
// Cells starting with = + - @ (spreadsheet formulas) get a leading apostrophe unless they
// are numbers.
class CsvWriter {
 public:
  void add(const boost::json::object& item);
  // The whole document: BOM, header line, rows; CRLF line ends.
  std::string finish() const;
  size_t rows() const noexcept { return rows_; }
  size_t bytes() const noexcept { return out_.size(); }

 private:
  std::vector<std::string> columns_;
  std::string out_;
  size_t rows_ = 0;
};

// One CSV field, quoted when it holds a comma, quote, CR or LF.
std::string csv_field(std::string_view s);
// The text of a JSON value for a cell (see CsvWriter).
std::string csv_cell(const boost::json::value& v);

}  // namespace fw::server
