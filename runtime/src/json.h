//===- json.h - A small JSON reader for model signatures --------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Reads the JSON that model libraries carry (signatures, compile info):
// objects, arrays, strings with escapes, numbers, true/false/null. No
// exceptions; errors come back as a message.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_JSON_H
#define SSM_RUNTIME_JSON_H

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace ssm::json {

struct Value {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  double number = 0;
  std::string str;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;

  bool isString() const { return kind == String; }
  bool isNumber() const { return kind == Number; }
  bool isArray() const { return kind == Array; }
  const Value *get(const std::string &key) const {
    for (const auto &kv : object)
      if (kv.first == key)
        return &kv.second;
    return nullptr;
  }
};

class Parser {
public:
  Parser(const char *text) : p(text) {}

  bool parseValue(Value &v, int depth = 0) {
    skip();
    if (depth > 64)
      return fail("nesting too deep");
    switch (*p) {
    case '{':
      return parseObject(v, depth);
    case '[':
      return parseArray(v, depth);
    case '"':
      v.kind = Value::String;
      return parseString(v.str);
    case 't':
      return literal("true", v, Value::Bool, true);
    case 'f':
      return literal("false", v, Value::Bool, false);
    case 'n':
      return literal("null", v, Value::Null, false);
    default: {
      char *end = nullptr;
      v.number = std::strtod(p, &end);
      if (end == p)
        return fail("unexpected character");
      v.kind = Value::Number;
      p = end;
      return true;
    }
    }
  }

  bool atEnd() {
    skip();
    return *p == '\0';
  }
  std::string error;

private:
  void skip() {
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
      ++p;
  }
  bool fail(const char *message) {
    if (error.empty())
      error = message;
    return false;
  }
  bool literal(const char *word, Value &v, Value::Kind kind, bool b) {
    for (const char *w = word; *w; ++w, ++p)
      if (*p != *w)
        return fail("bad literal");
    v.kind = kind;
    v.boolean = b;
    return true;
  }
  bool parseString(std::string &out) {
    ++p; // opening quote
    while (*p && *p != '"') {
      if (*p == '\\') {
        ++p;
        switch (*p) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned code = 0;
          for (int i = 1; i <= 4; ++i) {
            char c = p[i];
            if (!c)
              return fail("truncated escape");
            code = code * 16 + (c >= 'a'   ? c - 'a' + 10
                                : c >= 'A' ? c - 'A' + 10
                                           : c - '0');
          }
          p += 4;
          out += code < 0x80 ? static_cast<char>(code) : '?';
          break;
        }
        case '\0':
          return fail("truncated string");
        default:
          out += *p;
        }
        ++p;
        continue;
      }
      out += *p++;
    }
    if (*p != '"')
      return fail("unterminated string");
    ++p;
    return true;
  }
  bool parseArray(Value &v, int depth) {
    v.kind = Value::Array;
    ++p;
    skip();
    if (*p == ']')
      return ++p, true;
    while (true) {
      v.array.emplace_back();
      if (!parseValue(v.array.back(), depth + 1))
        return false;
      skip();
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == ']')
        return ++p, true;
      return fail("expected , or ]");
    }
  }
  bool parseObject(Value &v, int depth) {
    v.kind = Value::Object;
    ++p;
    skip();
    if (*p == '}')
      return ++p, true;
    while (true) {
      skip();
      if (*p != '"')
        return fail("expected a key");
      std::string key;
      if (!parseString(key))
        return false;
      skip();
      if (*p != ':')
        return fail("expected :");
      ++p;
      v.object.emplace_back(std::move(key), Value());
      if (!parseValue(v.object.back().second, depth + 1))
        return false;
      skip();
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == '}')
        return ++p, true;
      return fail("expected , or }");
    }
  }
  const char *p;
};

inline bool parse(const char *text, Value &v, std::string &error) {
  Parser parser(text);
  if (!parser.parseValue(v) || !parser.atEnd()) {
    error = parser.error.empty() ? "trailing characters" : parser.error;
    return false;
  }
  return true;
}

} // namespace ssm::json

#endif // SSM_RUNTIME_JSON_H
