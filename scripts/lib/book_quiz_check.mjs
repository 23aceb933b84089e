// The end-of-chapter questions (book/theme/quiz.js) answered in Chromium the way a reader without a
// mouse would: Tab and arrow keys to an option (or typing a number), Enter on the Check button.
// Used by book_browser_check.mjs on every page; per question it fails when
//   * Check with nothing chosen does not ask for an answer, or shows the explanation;
//   * a wrong answer is not called wrong (data-wrong), or the explanation stays hidden;
//   * the right answer (the key the crate's tests/quiz_keys.rs checked) is not called right;
//   * the explanation has no link to a section, or it leads to no heading on this page.
// Chapters 1–7 must show 3 to 6 questions; no page may show an unrendered {{#quiz}} token.

const CHAPTER_WITH_QUESTIONS = /(^|\/)ch0[1-7]-[^/]*\.html$/;

export async function checkQuizzes(page, rel) {
  const problems = [];
  const quizzes = page.locator("div.quiz");
  const count = await quizzes.count();
  if (CHAPTER_WITH_QUESTIONS.test(rel) && (count < 3 || count > 6)) {
    problems.push(`${count} end-of-chapter question(s); chapters 1–7 have 3 to 6`);
  }
  if (await page.evaluate(() => /\{\{#(quiz|end-quiz|answer|right)\b/.test(document.body.innerText))) {
    problems.push("an unrendered {{#quiz}} token on the page");
  }
  for (let i = 0; i < count; i++) {
    const quiz = quizzes.nth(i);
    const id = await quiz.getAttribute("id");
    const say = (what) => problems.push(`question ${id}: ${what}`);
    const { kind, key, right, wrong, choose } = await quiz.evaluate((q) => ({ ...q.dataset }));
    const feedback = quiz.locator(".quiz-feedback");
    const explanation = quiz.locator(".quiz-explanation");
    const button = quiz.locator("form button[type=submit]");
    if ((await button.count()) !== 1) { say("no Check button (quiz.js did not run?)"); continue; }
    const verdict = async () => ({
      text: (await feedback.textContent()).trim(),
      shown: await explanation.isVisible(),
      cls: await quiz.evaluate((q) => (q.classList.contains("quiz-right") ? "right"
        : q.classList.contains("quiz-wrong") ? "wrong" : "")),
    });
    // Enter on the focused button submits, as a keyboard user does it.
    const submit = async () => { await button.focus(); await page.keyboard.press("Enter"); return verdict(); };

    let state = await submit();
    if (state.text !== choose || state.shown) say(`Check with no answer gave "${state.text}"`);

    let answerWith; // (index or text) => typed with the keyboard
    let wrongAnswer;
    if (kind === "choice") {
      const radios = quiz.locator("input[type=radio]");
      const n = await radios.count();
      if (n < 2) { say(`${n} option(s) rendered`); continue; }
      wrongAnswer = (Number(key) + 1) % n;
      answerWith = async (index) => {
        await radios.first().focus();
        await page.keyboard.press("Space"); // checks the first option
        for (let k = 0; k < index; k++) await page.keyboard.press("ArrowDown");
        if (!(await radios.nth(index).isChecked())) say(`the arrow keys did not reach option ${index}`);
      };
    } else {
      const box = quiz.locator("input.quiz-number");
      wrongAnswer = String(Number(key) + 1);
      answerWith = async (text) => {
        await box.focus();
        await page.keyboard.press("ControlOrMeta+A");
        await page.keyboard.type(String(text));
      };
    }
    await answerWith(wrongAnswer);
    state = await submit();
    if (state.text !== wrong || state.cls !== "wrong" || !state.shown) {
      say(`a wrong answer (${wrongAnswer}) gave "${state.text}" (${state.cls || "no verdict"}, explanation ${state.shown ? "shown" : "hidden"})`);
    }
    await answerWith(kind === "choice" ? Number(key) : key);
    state = await submit();
    if (state.text !== right || state.cls !== "right" || !state.shown) {
      say(`the right answer (${key}) gave "${state.text}" (${state.cls || "no verdict"})`);
    }
    const links = await explanation.locator("a[href^='#']").evaluateAll((as) =>
      as.map((a) => ({ href: a.getAttribute("href"), found: document.getElementById(decodeURIComponent(a.getAttribute("href").slice(1))) !== null })));
    if (links.length === 0) say("the explanation links to no section of the page");
    for (const link of links.filter((l) => !l.found)) say(`the explanation's link ${link.href} leads to no heading`);
  }
  return { count, problems };
}
