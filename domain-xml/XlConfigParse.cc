// The xl.cfg lexer and parser. The grammar is libxlu's: settings separated by newlines or ';',
// '#' comments, values that are numbers, '...' or "..." strings with backslash escapes, or lists
// that may span lines and end with a trailing comma. xm configs (Python) use the same subset.
#include <cctype>
#include <cstdio>

#include "domain-xml/XlConfigSyntax.h"

namespace xvirt::dom {
namespace {

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  Result<std::vector<XlSetting>> run() {
    std::vector<XlSetting> out;
    for (;;) {
      skipBlanksAndComments(true);
      if (atEnd()) break;
      if (peek() == ';') {
        ++pos_;
        continue;
      }
      bool append = false;
      XVIRT_ASSIGN_OR_RETURN(XlSetting setting, parseSetting(append));
      merge(out, std::move(setting), append);
    }
    return out;
  }

 private:
  bool atEnd() const { return pos_ >= s_.size(); }
  char peek() const { return atEnd() ? '\0' : s_[pos_]; }

  Error lineError(int line, const std::string& what) const {
    return makeError(ErrorCode::InvalidArgument, "Line " + std::to_string(line) + " of the config " + what + ".");
  }

  // Skips spaces, tabs and comments; newlines too when `newlines` (inside lists, between settings).
  void skipBlanksAndComments(bool newlines) {
    while (!atEnd()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '\n' && newlines) {
        ++pos_;
        ++line_;
      } else if (c == '#') {
        while (!atEnd() && peek() != '\n') ++pos_;
      } else if (c == '\\' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') {
        pos_ += 2;  // a backslash-newline continues the line, as in Python
        ++line_;
      } else {
        break;
      }
    }
  }

  static bool identStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  std::string describe(char c) const {
    if (c == '\0' && atEnd()) return "the end of the file";
    if (c == '\n') return "the end of the line";
    if (std::isprint(static_cast<unsigned char>(c))) return std::string("'") + c + "'";
    char buf[8];
    snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned char>(c));
    return std::string("the byte ") + buf;
  }

  // key = value, or key += value (append is set).
  Result<XlSetting> parseSetting(bool& append) {
    XlSetting st;
    st.line = line_;
    if (!identStart(peek()))
      return lineError(line_, "starts with " + describe(peek()) + " where a setting name was expected");
    size_t b = pos_;
    while (!atEnd() && identChar(peek())) ++pos_;
    st.key = std::string(s_.substr(b, pos_ - b));
    skipBlanksAndComments(false);
    if (peek() == '+' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '=') {
      append = true;
      pos_ += 2;
    } else if (peek() == '=') {
      ++pos_;
    } else {
      return lineError(line_, "has " + describe(peek()) + " after '" + st.key + "' where '=' was expected");
    }
    skipBlanksAndComments(false);
    if (peek() == '[') {
      ++pos_;
      st.isList = true;
      for (;;) {
        skipBlanksAndComments(true);
        if (atEnd()) return lineError(st.line, "has a list for '" + st.key + "' that is never closed with ']'");
        if (peek() == ']') {
          ++pos_;
          break;
        }
        XVIRT_ASSIGN_OR_RETURN(XlScalar item, parseScalar(st.key));
        st.items.push_back(std::move(item));
        skipBlanksAndComments(true);
        if (peek() == ',') {
          ++pos_;
        } else if (peek() != ']') {
          if (atEnd())
            return lineError(st.line, "has a list for '" + st.key + "' that is never closed with ']'");
          return lineError(line_, "has " + describe(peek()) + " in the list for '" + st.key +
                                      "' where ',' or ']' was expected");
        }
      }
    } else {
      XVIRT_ASSIGN_OR_RETURN(XlScalar item, parseScalar(st.key));
      st.items.push_back(std::move(item));
    }
    skipBlanksAndComments(false);
    if (!atEnd() && peek() != '\n' && peek() != ';')
      return lineError(line_, "has " + describe(peek()) + " after the value of '" + st.key +
                                  "' where the end of the line was expected");
    return st;
  }

  Result<XlScalar> parseScalar(const std::string& key) {
    XlScalar v;
    v.line = line_;
    char c = peek();
    if (c == '"' || c == '\'') {
      char quote = c;
      ++pos_;
      // Python's triple-quoted strings do not occur in xm configs we accept; a doubled quote is
      // just an empty string followed by junk and is reported as such.
      for (;;) {
        if (atEnd() || peek() == '\n')
          return lineError(v.line, "has a string for '" + key + "' that is never closed with " +
                                       std::string(1, quote));
        char ch = s_[pos_++];
        if (ch == quote) break;
        if (ch == '\\') {
          if (atEnd()) continue;
          char e = s_[pos_++];
          switch (e) {
            case 'n': v.text += '\n'; break;
            case 't': v.text += '\t'; break;
            case 'r': v.text += '\r'; break;
            case '\\': case '\'': case '"': v.text += e; break;
            case '\n': ++line_; break;  // an escaped newline joins the lines
            default: v.text += '\\'; v.text += e; break;  // kept as written, as Python does
          }
          continue;
        }
        v.text += ch;
      }
      v.isString = true;
      return v;
    }
    size_t b = pos_;
    if (c == '-' || c == '+') ++pos_;
    while (!atEnd() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '.')) ++pos_;
    std::string_view tok = s_.substr(b, pos_ - b);
    if (tok.empty())
      return lineError(line_, "has " + describe(peek()) + " where the value of '" + key + "' was expected");
    std::string_view digits = tok.substr(c == '-' || c == '+' ? 1 : 0);
    bool hex = digits.size() > 2 && digits.substr(0, 2) == "0x";
    if (hex) digits.remove_prefix(2);
    bool number = !digits.empty();
    for (char d : digits)
      number = number && (hex ? std::isxdigit(static_cast<unsigned char>(d)) : std::isdigit(static_cast<unsigned char>(d)));
    if (!number)
      return lineError(v.line, "gives '" + key + "' the bare word '" + std::string(tok) +
                                   "', which is neither a number nor a quoted string");
    v.text = std::string(tok);
    return v;
  }

  static void merge(std::vector<XlSetting>& out, XlSetting st, bool append) {
    for (auto it = out.begin(); it != out.end(); ++it) {
      if (it->key != st.key) continue;
      if (append) {
        if (it->isList || st.isList) {
          it->isList = true;
          for (auto& item : st.items) it->items.push_back(std::move(item));
        } else {
          it->items[0].text += st.items[0].text;
        }
        return;
      }
      // A later assignment replaces the earlier one, at the later line.
      out.erase(it);
      break;
    }
    out.push_back(std::move(st));
  }

  std::string_view s_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

Result<std::vector<XlSetting>> parseXlSettings(std::string_view text) {
  Lexer lexer(text);
  return lexer.run();
}

std::string quoteXlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace xvirt::dom
