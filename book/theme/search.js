// Search for both editions: Pagefind (npm package `pagefind`, pinned in package.json), whose index
// scripts/book writes after mdBook has built the pages (scripts/lib/book_search_index.mjs): one per
// edition, in the edition's own folder (pagefind/ at the root for English, ko/pagefind/ for Korean),
// so results are always in the page's language. mdBook's own search is off (book.toml): its index
// drops Hangul. Everything is served with the book; nothing comes from the web.
//
// A button in the menu bar, or `/` or `s`, opens a dialog with a search box; results come as you
// type, ↓/↑ move through them, Enter follows one, Esc closes. Korean words carry particles
// (합성곱을, 풀링은): Pagefind matches the last word of a query as a prefix, so 합성곱 finds 합성곱을; a
// particle typed in the query is dropped so that 합성곱을 finds 합성곱 and 합성곱은 as well.
(function () {
  const WORDS = {
    en: {
      button: "Search this book",
      placeholder: "Search this book …",
      close: "Close",
      hint: "↓↑ to move, Enter to open, Esc to close",
      loading: "Loading the search index …",
      none: (q) => `No results for “${q}”.`,
      some: (n, q) => `${n} page${n === 1 ? "" : "s"} for “${q}”`,
      more: (n) => `and ${n} more — refine the words to narrow it down`,
      missing: "The search index is missing: build the book with scripts/book.",
    },
    ko: {
      button: "이 책에서 검색",
      placeholder: "이 책에서 검색 …",
      close: "닫기",
      hint: "↓↑ 이동, Enter 열기, Esc 닫기",
      loading: "검색 색인을 불러오는 중 …",
      none: (q) => `“${q}”에 대한 검색 결과가 없습니다.`,
      some: (n, q) => `“${q}”: ${n}개 페이지`,
      more: (n) => `외 ${n}개 — 검색어를 더 구체적으로 입력해 보세요`,
      missing: "검색 색인이 없습니다: scripts/book으로 책을 빌드하세요.",
    },
  };
  const lang = document.documentElement.lang === "ko" ? "ko" : "en";
  const t = WORDS[lang];
  const SHOWN = 10; // pages whose details are loaded and listed
  const SUBRESULTS = 3; // headings shown under a page
  // Pagefind's ranking, tuned on book/search-queries.json (scripts/book checks every query):
  // the chapter that teaches a term names it in its title or a section heading (the "sections"
  // metadata of book_search_index.mjs), which outweighs a page that only uses the term often, and
  // a word as typed counts more than a longer word it begins (합성곱 over 합성곱층).
  const RANKING = { termSimilarity: 3, metaWeights: { title: 20, sections: 10 } };

  const buttons = document.querySelector("#mdbook-menu-bar .left-buttons");
  if (!buttons) return; // print.html and toc.html have no menu bar
  const editionRoot = new URL(typeof path_to_root === "string" && path_to_root ? path_to_root : "./", location.href);

  // Korean particles, longest first: dropped from the end of a query word when two or more
  // syllables are left. The stem matches everything the word matched (prefix search), and more.
  const PARTICLES = ["에서는", "으로는", "에서", "으로", "에게", "부터", "까지", "처럼", "보다", "이나",
    "과", "와", "을", "를", "은", "는", "이", "가", "의", "에", "로", "도", "만"];
  function normalize(query) {
    const words = query.trim().split(/\s+/).filter(Boolean);
    if (lang !== "ko") return words.join(" ");
    return words.map((word) => {
      const particle = PARTICLES.find((p) => word.endsWith(p) && [...word].length - [...p].length >= 2);
      return particle ? word.slice(0, -particle.length) : word;
    }).join(" ");
  }

  // --- the button and the dialog -------------------------------------------------------------
  // A magnifying glass, drawn like mdBook's icons (span.fa-svg: 1em, the icons' colour).
  const svg = '<span class="fa-svg"><svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<circle cx="9.8" cy="9.8" r="7.4" fill="none" stroke="currentColor" stroke-width="3"/>' +
    '<path d="M15.4 15.4l6.3 6.3" stroke="currentColor" stroke-width="3.4" stroke-linecap="round"/></svg></span>';
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.id = "book-search-toggle";
  toggle.className = "icon-button";
  toggle.title = `${t.button} (/)`;
  toggle.setAttribute("aria-label", t.button);
  toggle.setAttribute("aria-keyshortcuts", "/ s");
  toggle.setAttribute("aria-haspopup", "dialog");
  toggle.setAttribute("aria-controls", "book-search");
  toggle.innerHTML = svg;
  buttons.append(toggle);

  const dialog = document.createElement("dialog");
  dialog.id = "book-search";
  dialog.setAttribute("aria-label", t.button);
  dialog.innerHTML = `
    <form method="dialog" class="book-search-bar" role="search">
      <input type="search" class="book-search-input" autocomplete="off" spellcheck="false"
        aria-controls="book-search-results" aria-describedby="book-search-status">
      <button type="submit" class="book-search-close"></button>
    </form>
    <p id="book-search-status" class="book-search-status" role="status" aria-live="polite"></p>
    <ol id="book-search-results" class="book-search-results"></ol>
    <p class="book-search-hint"></p>`;
  const input = dialog.querySelector("input");
  const status = dialog.querySelector(".book-search-status");
  const list = dialog.querySelector("ol");
  input.placeholder = t.placeholder;
  input.setAttribute("aria-label", t.button);
  dialog.querySelector(".book-search-close").textContent = t.close;
  dialog.querySelector(".book-search-hint").textContent = t.hint;
  document.body.append(dialog);

  // --- Pagefind, loaded on first use ---------------------------------------------------------
  let pagefind = null;
  function loadPagefind() {
    pagefind ??= import(new URL("pagefind/pagefind.js", editionRoot).href).then(async (pf) => {
      // The index holds URLs from the edition's root; the site may live under a sub-path.
      await pf.options({ baseUrl: editionRoot.pathname, excerptLength: 24, ranking: RANKING });
      await pf.init();
      return pf;
    });
    return pagefind;
  }

  let generation = 0; // the newest query; answers to older ones are dropped
  async function search(query) {
    const mine = ++generation;
    const words = normalize(query);
    if (!words) {
      list.replaceChildren();
      status.textContent = "";
      dialog.removeAttribute("data-query");
      return;
    }
    let pf;
    try {
      pf = await loadPagefind();
    } catch (error) {
      status.textContent = t.missing;
      dialog.dataset.state = "error";
      console.warn(`search: ${error.message}`);
      return;
    }
    const found = await pf.search(words);
    const pages = await Promise.all(found.results.slice(0, SHOWN).map((r) => r.data()));
    if (mine !== generation) return;
    list.replaceChildren(...pages.map(resultItem));
    const shown = query.trim();
    status.textContent = pages.length ? t.some(found.results.length, shown) : t.none(shown);
    if (found.results.length > SHOWN) {
      const more = document.createElement("li");
      more.className = "book-search-more";
      more.textContent = t.more(found.results.length - SHOWN);
      list.append(more);
    }
    dialog.dataset.query = query.trim(); // for scripts/lib/book_search_check.mjs
    dialog.dataset.state = "done";
  }

  function resultItem(page) {
    const item = document.createElement("li");
    item.className = "book-search-result";
    item.dataset.url = page.url;
    // The words of the page that matched, as written there (합성곱을, 합성곱층…): for the check
    // of scripts/lib/book_search_check.mjs.
    const words = page.content.split(/\s+/);
    item.dataset.words = [...new Set(page.locations.map((at) => words[at]))].slice(0, 60).join(" ");
    const link = document.createElement("a");
    link.href = page.url;
    link.className = "book-search-title";
    link.textContent = page.meta?.title || page.url;
    const excerpt = document.createElement("p");
    excerpt.className = "book-search-excerpt";
    excerpt.innerHTML = page.excerpt; // Pagefind's: the page's text, escaped, with <mark>s
    item.append(link, excerpt);
    const subs = (page.sub_results || []).filter((s) => s.url !== page.url && s.title !== page.meta?.title);
    if (subs.length) {
      const sub = document.createElement("ul");
      for (const s of subs.slice(0, SUBRESULTS)) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = s.url;
        a.textContent = s.title;
        li.append(a);
        sub.append(li);
      }
      item.append(sub);
    }
    return item;
  }

  // --- opening, closing, the keyboard --------------------------------------------------------
  let timer = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    dialog.dataset.state = "typing";
    timer = setTimeout(() => search(input.value), 120);
  });

  function open() {
    if (dialog.open) return;
    dialog.showModal();
    toggle.setAttribute("aria-expanded", "true");
    input.select();
    loadPagefind().catch(() => { status.textContent = t.missing; });
  }
  dialog.addEventListener("close", () => {
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
  });
  toggle.setAttribute("aria-expanded", "false");
  toggle.addEventListener("click", open);
  // A click on the backdrop (outside the box) closes it.
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });

  const links = () => [...list.querySelectorAll("a")];
  dialog.addEventListener("keydown", (e) => {
    // Keys typed in the dialog are not the page's (mdBook's ←/→ turn the page).
    e.stopPropagation();
    if (e.key === "Escape" && !e.isComposing) {
      // One Esc closes, also from a search box with text in it (which would only clear it).
      e.preventDefault();
      dialog.close();
      return;
    }
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const all = links();
    if (!all.length) return;
    e.preventDefault();
    const at = all.indexOf(document.activeElement);
    if (e.key === "ArrowDown") (at < 0 ? all[0] : all[Math.min(at + 1, all.length - 1)]).focus();
    else if (at <= 0) input.focus();
    else all[at - 1].focus();
  });
  // Enter in the box follows the first result.
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.isComposing) {
      const first = links()[0];
      e.preventDefault();
      if (first) first.click();
    }
  });

  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || dialog.open) return;
    const target = e.composedPath()[0] || e.target;
    if (/^(input|select|textarea)$/i.test(target.nodeName) || target.isContentEditable) return;
    if (e.key === "/" || e.key === "s") {
      e.preventDefault();
      open();
    }
  });
})();
