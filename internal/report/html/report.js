// Shows the findings grouped by check or by object, one grouping at a
// time; filters them by text (every word the search box holds, in the
// object, its source, the check, the severity or the message), namespace,
// severity (that one and above), layer and, with a baseline, new only;
// hides the groups left empty and keeps every group's count to the
// findings left in it. The filters live in the URL fragment
// (#namespace=shop&severity=high&view=object), so a link or a reload keeps
// them; a namespace's link (#ns-shop) sets them to that namespace's
// findings, by object. Without this script both groupings show, one after
// the other, with every finding.
//
// A served page (data-refresh) reloads itself here rather than by a meta
// refresh, which a browser may treat as a jump to the fragment instead of
// a reload; the meta refresh is only for when scripts are off.
(function () {
  "use strict";
  const refresh = Number(document.body.dataset.refresh);
  if (refresh > 0) setTimeout(() => location.reload(), refresh * 1000);
  const ranks = ["info", "low", "medium", "high", "critical"];
  const form = document.getElementById("filters");
  if (form) {
    const names = ["q", "namespace", "severity", "layer", "new", "view"].filter((name) => form.elements[name]);
    const findings = document.querySelectorAll(".finding");
    const groups = document.querySelectorAll(".fgroup");
    const views = document.querySelectorAll(".view");

    // What the search box matches a finding by, the same in either
    // grouping: its row (by check: the object, its source and the message;
    // by object: the severity, the check and the message), the heading of
    // its object when grouped by object (the object and its source), and
    // its check's ID and title and its severity.
    const titles = {};
    for (const c of document.querySelectorAll("details.check")) {
      titles[c.dataset.check] = c.querySelector(".check-title").textContent;
    }
    const words = new Map();
    for (const f of findings) {
      const object = f.closest(".object-group");
      const heading = object ? object.querySelector(".object-id").textContent + " " +
        (object.querySelector(".where")?.textContent ?? "") : "";
      words.set(f, [f.textContent, heading, f.dataset.check, titles[f.dataset.check] || "",
        f.dataset.severity].join(" ").toLowerCase());
    }

    // value, initial and set treat every control alike: the search box,
    // a select, the new-only checkbox ("" unless checked) and the
    // grouping's radio buttons (the first is the default).
    const value = (name) => {
      const e = form.elements[name];
      return e.type === "checkbox" && !e.checked ? "" : e.value;
    };
    const initial = (name) => {
      const e = form.elements[name];
      return e instanceof RadioNodeList ? e[0].value : "";
    };
    const set = (name, v) => {
      const e = form.elements[name];
      if (e.type === "checkbox") {
        e.checked = v === e.value;
        return;
      }
      const choices = e instanceof RadioNodeList ? Array.from(e, (r) => r.value)
        : e.options ? Array.from(e.options, (o) => o.value) : null;
      e.value = choices === null || choices.includes(v) ? v : initial(name);
    };

    const apply = () => {
      const terms = value("q").toLowerCase().split(/\s+/).filter((t) => t !== "");
      const ns = value("namespace");
      const min = ranks.indexOf(value("severity"));
      const layer = value("layer");
      const onlyNew = names.includes("new") && value("new") !== "";
      for (const f of findings) {
        const d = f.dataset;
        f.hidden = !((ns === "" || d.namespace === ns) &&
          (min < 0 || ranks.indexOf(d.severity) >= min) &&
          (layer === "" || d.layer === layer) &&
          (!onlyNew || d.state === "new") &&
          terms.every((t) => words.get(f).includes(t)));
      }
      for (const g of groups) {
        const n = g.querySelectorAll(".finding:not([hidden])").length;
        g.hidden = n === 0;
        const count = g.querySelector(".fcount");
        if (count) count.textContent = n;
      }
      let shown = 0;
      let total = 0;
      for (const v of views) {
        v.hidden = v.dataset.view !== value("view");
        if (!v.hidden) {
          shown = v.querySelectorAll(".finding:not([hidden])").length;
          total = v.querySelectorAll(".finding").length;
        }
      }
      document.getElementById("filter-status").textContent = shown + " of " + total + " shown";
      document.getElementById("no-match").hidden = shown > 0;
    };

    // fromFragment sets the filters from the URL fragment, and returns the
    // namespace it names when it is a namespace's link.
    const fromFragment = () => {
      const target = document.getElementById(location.hash.slice(1));
      if (target !== null && target.classList.contains("ns-group")) {
        for (const name of names) set(name, initial(name));
        set("namespace", target.dataset.namespace);
        set("view", "object");
        return target;
      }
      const params = new URLSearchParams(location.hash.slice(1));
      for (const name of names) set(name, params.get(name) ?? initial(name));
      return null;
    };

    const toFragment = () => {
      const params = new URLSearchParams();
      for (const name of names) {
        if (value(name) !== initial(name)) params.set(name, value(name));
      }
      const hash = params.toString();
      history.replaceState(null, "", hash === "" ? location.pathname + location.search : "#" + hash);
    };

    const show = () => {
      const target = fromFragment();
      apply();
      if (target !== null) {
        toFragment();
        // Below the filters, which stay at the top of the window.
        target.scrollIntoView();
        window.scrollBy(0, -form.offsetHeight);
      }
    };

    form.addEventListener("input", () => { apply(); toFragment(); });
    form.addEventListener("submit", (e) => e.preventDefault());
    window.addEventListener("hashchange", show);
    show();
    form.hidden = false;
  }
  document.body.dataset.js = "ready";
})();
