// Small helps on top of pages that work without scripts: the SQL checked as it is typed, and copy buttons.
"use strict";
(function () {
  const csrf = document.querySelector("main")?.dataset.csrf || "";

  function showCheck(box, sql, report) {
    box.textContent = "";
    const p = document.createElement("p");
    if (report.ok) {
      p.className = "ok";
      p.textContent = "Compiles. Output fields: " + report.fields.join(", ");
      box.append(p);
      return;
    }
    p.className = "error";
    const hint = report.suggestions && report.suggestions.length ? " (did you mean " + report.suggestions.join(", ") + "?)" : "";
    p.textContent = "Line " + report.line + ", column " + report.column + ": " + report.cause + hint;
    const pre = document.createElement("pre");
    pre.className = "excerpt";
    pre.textContent = report.source + "\n" + " ".repeat(Math.max(report.column - 1, 0)) + "^";
    box.append(p, pre);
  }

  const sql = document.getElementById("sql");
  const box = document.getElementById("check");
  if (sql && box) {
    let timer = null, asked = 0;
    sql.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(async function () {
        const mine = ++asked;
        try {
          const response = await fetch("/check", {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
            body: JSON.stringify({sql: sql.value}),
          });
          if (mine === asked && response.headers.get("Content-Type")?.startsWith("application/json")) {
            showCheck(box, sql.value, await response.json());
          }
        } catch (e) { /* offline: the Check button still works */ }
      }, 300);
    });
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", async function () {
      const text = document.getElementById(button.dataset.copy).textContent;
      try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; }
      catch (e) { button.textContent = "Select and copy"; }
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
  });
})();
