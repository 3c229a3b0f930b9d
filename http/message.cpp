#include "http/message.hpp"

#include <nlohmann/json.hpp>

namespace drover::http {

std::string_view Request::header(std::string_view name) const {
  auto it = message.find(name);
  if (it == message.end()) return {};
  return it->value();
}

std::string Request::queryOr(const std::string& key, std::string fallback) const {
  if (const auto* value = findParam(query, key)) return *value;
  if (auto it = params.find(key); it != params.end()) return it->second;
  return fallback;
}

Response Response::text(Status status, std::string body, std::string_view content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.set(beast_http::field::content_type, content_type);
  return r;
}

Response Response::json(Status status, std::string body) {
  return text(status, std::move(body), "application/json");
}

Response Response::error(Status status, std::string_view code, std::string_view message) {
  nlohmann::json j{{"error", code}, {"message", message}};
  return json(status, j.dump() + "\n");
}

Response Response::fromFile(FileBody file, std::string_view content_type) {
  Response r;
  r.file = std::move(file);
  r.headers.set(beast_http::field::content_type, content_type);
  return r;
}

}  // namespace drover::http
