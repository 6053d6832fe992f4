/* The operations console: page configuration, words, the API key and calls to /v1.
 *
 * The key lives in sessionStorage only: never in a URL, never in a cookie; it goes to the
 * API in the X-API-Key header, as from any other client. Every string shown comes from the
 * server-rendered configuration block (the gettext catalogue), in the page's language. */
(function (C) {
  "use strict";

  var KEY_STORE = "gis-console-key";
  C.config = JSON.parse(document.getElementById("console-config").textContent);

  /* A string of `group` (messages, errors, events, precisions) with {name} filled in. */
  C.t = function (group, name, values) {
    var text = (C.config.strings[group] || {})[name];
    if (text === undefined) { text = name; }
    return text.replace(/\{(\w+)\}/g, function (whole, key) {
      return values && values[key] !== undefined ? String(values[key]) : whole;
    });
  };

  C.statusLabel = function (status) { return C.config.statuses[status] || status; };

  C.key = function () { return window.sessionStorage.getItem(KEY_STORE); };
  C.setKey = function (key) { window.sessionStorage.setItem(KEY_STORE, key); };
  C.clearKey = function () { window.sessionStorage.removeItem(KEY_STORE); };

  /* A failed call: its HTTP status and its problem document (RFC 9457), when it sent one. */
  function ApiError(status, problem) {
    this.status = status;
    this.problem = problem || {};
  }
  C.ApiError = ApiError;

  function headers(withKey, hasBody) {
    var sent = { "Accept": "application/json", "Accept-Language": C.config.locale };
    if (hasBody) { sent["Content-Type"] = "application/json"; }
    if (withKey && C.key()) { sent["X-API-Key"] = C.key(); }
    return sent;
  }

  async function parsed(response) {
    var text = await response.text();
    try { return text ? JSON.parse(text) : {}; } catch (error) { return {}; }
  }

  /* Call the API: `path` under /v1, `body` sent as JSON; resolves to the JSON answer,
   * rejects with an ApiError (status 0: the service could not be reached). */
  C.call = async function (method, path, body, options) {
    var withKey = !(options && options.anonymous);
    var response;
    try {
      response = await fetch(C.config.api + path, {
        method: method, headers: headers(withKey, body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit"
      });
    } catch (error) {
      throw new ApiError(0, null);
    }
    var answer = await parsed(response);
    if (!response.ok) { throw new ApiError(response.status, answer); }
    return answer;
  };

  /* A failed call in the page's language: what the status means, the problem's own
   * (translated) title and detail, and the field it names. */
  C.errorText = function (error) {
    if (!(error instanceof ApiError)) { return C.t("errors", "other"); }
    var known = C.config.strings.errors;
    var parts = [error.status === 0 ? known.network : (known[String(error.status)] || known.other)];
    if (error.problem.title && error.problem.detail) {
      parts.push(error.problem.title + ": " + error.problem.detail);
    }
    if (error.problem.field) { parts.push(C.t("messages", "field", { field: error.problem.field })); }
    return parts.join(" ");
  };

  C.showMessage = function (text, kind) {
    var box = document.getElementById("message");
    box.textContent = text;
    box.className = kind || "info";
    box.hidden = false;
  };

  C.showError = function (error) { C.showMessage(C.errorText(error), "error"); };

  C.clearMessage = function () { document.getElementById("message").hidden = true; };

  function huePart(parts, type) {
    return parts.filter(function (part) { return part.type === type; })[0].value;
  }

  /* An RFC 3339 timestamp as the page's locale writes it, in Hue's time zone. */
  C.formatDateTime = function (text) {
    if (!text) { return "—"; }
    var parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: C.config.timezone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date(text));
    return C.config.datetime_pattern.replace(/yyyy|MM|dd|HH|mm/g, function (token) {
      return huePart(parts, { yyyy: "year", MM: "month", dd: "day", HH: "hour", mm: "minute" }[token]);
    });
  };

  /* A number as the page's locale writes it (1.234,5 in Vietnamese). */
  C.formatNumber = function (value, decimals) {
    return new Intl.NumberFormat(C.config.number_locale, {
      minimumFractionDigits: decimals || 0, maximumFractionDigits: decimals || 0
    }).format(value);
  };

  C.element = function (tag, text, className) {
    var made = document.createElement(tag);
    if (text !== undefined && text !== null) { made.textContent = text; }
    if (className) { made.className = className; }
    return made;
  };
})(window.PahtConsole = window.PahtConsole || {});
