// The language picker: "English | 한국어" in the menu bar of every page, each a link to the same
// page (and the same heading: the Korean headings keep the English anchors) in that edition.
// English is at the site's root, the Korean edition under ko/ (scripts/book builds both);
// `path_to_root` is mdBook's, the way from this page to its edition's root.
(function () {
  const editions = [
    { lang: "en", label: "English", dir: "" },
    { lang: "ko", label: "한국어", dir: "ko/" },
  ];
  const here = editions.find((e) => e.lang === document.documentElement.lang) || editions[0];
  const editionRoot = new URL(path_to_root || "./", location.href);
  const siteRoot = here.dir ? new URL("../", editionRoot) : editionRoot;
  const page = location.pathname.slice(editionRoot.pathname.length) || "index.html";

  const picker = document.createElement("span");
  picker.className = "language-picker";
  picker.setAttribute("role", "navigation");
  picker.setAttribute("aria-label", "Language / 언어");
  editions.forEach((edition, i) => {
    if (i > 0) picker.append(" | ");
    const link = document.createElement("a");
    link.textContent = edition.label;
    link.lang = edition.lang;
    link.hreflang = edition.lang;
    link.href = new URL(edition.dir + page, siteRoot).href + location.hash;
    if (edition === here) link.setAttribute("aria-current", "page");
    picker.append(link);
  });
  const buttons = document.querySelector(".right-buttons");
  if (buttons) buttons.prepend(picker);
  // Follow the reader's moves between headings, so the link keeps the section.
  addEventListener("hashchange", () => {
    picker.querySelectorAll("a").forEach((link) => {
      link.href = link.href.replace(/#.*$/, "") + location.hash;
    });
  });
})();
