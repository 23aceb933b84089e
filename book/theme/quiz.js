// The end-of-chapter questions ("Check yourself"). book/preprocessor/src/quiz.rs renders each as
//   <div class="quiz" id="quiz-ID" data-kind="choice|number" data-key="…" data-check=… data-right=…
//        data-wrong=… data-choose=…>
//     <div class="quiz-question">…</div>
//     <div class="quiz-options"><ul>…</ul></div>          (choice questions only)
//     <div class="quiz-explanation">Answer: … …</div>
// and this turns it into a form: radio buttons (or a number box), a Check button, a line that says
// right or wrong (announced to screen readers), and the explanation, shown once the reader checks.
// Everything is native form controls: Tab, the arrow keys, Space and Enter work as everywhere.
// Without JavaScript (and in print) the question shows its answer and explanation as plain text.
(function () {
  // "1,234", " 12 ", "−3" (U+2212, as the book types minus) → a number; anything else → NaN.
  const number = (text) => {
    const clean = text.replace(/[\s,]/g, "").replace(/\u2212/g, "-");
    return clean === "" ? NaN : Number(clean);
  };
  const sameNumber = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

  document.querySelectorAll("div.quiz").forEach((quiz) => {
    const { kind, key, check, right, wrong, choose } = quiz.dataset;
    const question = quiz.querySelector(".quiz-question");
    const explanation = quiz.querySelector(".quiz-explanation");
    if (!question || !explanation) return;
    question.id = `${quiz.id}-question`;

    const form = document.createElement("form");
    form.className = "quiz-form";
    form.noValidate = true;
    let answer; // () => true (right), false (wrong) or null (nothing given yet)
    if (kind === "choice") {
      const options = quiz.querySelector(".quiz-options");
      const group = document.createElement("div");
      group.className = "quiz-choices";
      group.setAttribute("role", "radiogroup");
      group.setAttribute("aria-labelledby", question.id);
      [...options.querySelectorAll(":scope > ul > li")].forEach((item, i) => {
        const label = document.createElement("label");
        const input = document.createElement("input");
        input.type = "radio";
        input.name = quiz.id;
        input.value = String(i);
        label.append(input, " ", ...item.childNodes);
        group.append(label);
      });
      form.append(group);
      options.replaceWith(form);
      answer = () => {
        const chosen = form.querySelector("input:checked");
        return chosen ? chosen.value === key : null;
      };
    } else {
      const input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.autocomplete = "off";
      input.className = "quiz-number";
      input.setAttribute("aria-labelledby", question.id);
      form.append(input);
      question.after(form);
      answer = () => {
        const given = number(input.value);
        return Number.isNaN(given) ? null : sameNumber(given, Number(key));
      };
    }

    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = check;
    const feedback = document.createElement("p");
    feedback.className = "quiz-feedback";
    feedback.setAttribute("role", "status");
    feedback.setAttribute("aria-live", "polite");
    form.append(button, feedback);
    explanation.hidden = true;

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const result = answer();
      quiz.classList.remove("quiz-right", "quiz-wrong");
      if (result === null) {
        feedback.textContent = choose;
        explanation.hidden = true;
        return;
      }
      quiz.classList.add(result ? "quiz-right" : "quiz-wrong");
      feedback.textContent = result ? right : wrong;
      explanation.hidden = false;
    });
    // A changed answer hides the verdict on the old one.
    form.addEventListener("input", () => {
      quiz.classList.remove("quiz-right", "quiz-wrong");
      feedback.textContent = "";
      explanation.hidden = true;
    });
  });
})();
