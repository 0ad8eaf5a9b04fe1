() => {
  // Newsdesk's page script: a click on an answer's [n] marker shows source n of that answer
  // in the sources panel (scrolled to and flashed); Escape closes the article view.
  if (window.__newsdesk) return;
  window.__newsdesk = true;
  const FLASH_MS = 2400;

  function flash(elements) {
    for (const el of elements) {
      el.classList.remove("nd-flash");
      void el.offsetWidth; // restart the animation
      el.classList.add("nd-flash");
    }
    setTimeout(() => elements.forEach((el) => el.classList.remove("nd-flash")), FLASH_MS);
  }

  function showSource(turn, n) {
    const panel = document.querySelector("#nd-sources-panel .nd-sources");
    if (!panel) return;
    let scope = panel;
    for (const section of panel.querySelectorAll("section.nd-turn")) {
      const here = section.dataset.turn === String(turn);
      section.hidden = !here;
      if (here) scope = section;
    }
    const entry = scope.querySelector(`.nd-source[data-cites~="${n}"]`);
    if (!entry) return;
    panel.querySelectorAll(".nd-current").forEach((el) => el.classList.remove("nd-current"));
    entry.classList.add("nd-current");
    entry.scrollIntoView({ behavior: "smooth", block: "center" });
    const marks = [...entry.querySelectorAll("mark.nd-mark")].filter((m) =>
      (m.dataset.n || "").split(" ").includes(String(n)),
    );
    flash([entry, ...marks]);
  }

  function cite(target) {
    const el = target && target.closest ? target.closest(".nd-cite") : null;
    if (!el) return null;
    const turn = /\bnd-t(\d+)\b/.exec(el.className);
    const n = /\bnd-n(\d+)\b/.exec(el.className);
    return turn && n ? { turn: Number(turn[1]), n: Number(n[1]) } : null;
  }

  document.addEventListener(
    "click",
    (event) => {
      const found = cite(event.target);
      if (!found) return;
      event.preventDefault();
      event.stopPropagation();
      showSource(found.turn, found.n);
    },
    true,
  );
  document.addEventListener("keydown", (event) => {
    const found = (event.key === "Enter" || event.key === " ") && cite(event.target);
    if (found) {
      event.preventDefault();
      showSource(found.turn, found.n);
    } else if (event.key === "Escape") {
      const close = document.querySelector("#nd-article-close");
      if (close && close.offsetParent !== null) close.click();
    }
  });
}
