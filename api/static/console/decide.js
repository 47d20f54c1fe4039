// The decision dialog: one form per decision, built from the inputs its mutation takes, sent as
// one mutation with an idempotency key (a double submit decides once).

import { ApiError, gql } from "./graphql.js";
import { el, money, words } from "./format.js";

const $ = (selector) => document.querySelector(selector);

function newKey() {
  return globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : `k-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

let opener = null; // the button that opened the dialog, focused again when it closes

function show(title, submitLabel, submitStyle, fields, onSubmit) {
  const dialog = $("#decide");
  opener = document.activeElement;
  $("#decide-title").textContent = title;
  $("#decide-fields").replaceChildren(...fields);
  $("#decide-error").textContent = "";
  const submit = $("#decide-submit");
  submit.textContent = submitLabel;
  submit.className = submitStyle || "primary";
  submit.disabled = false;
  $("#decide-form").onsubmit = async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const error = await onSubmit();
      if (error) $("#decide-error").textContent = error;
      else close();
    } finally {
      submit.disabled = false;
    }
  };
  $("#decide-cancel").onclick = close;
  dialog.onclose = () => opener && opener.isConnected && opener.focus();
  dialog.showModal();
  const first = dialog.querySelector("#decide-fields input, #decide-fields select, #decide-fields textarea");
  (first || submit).focus();
}

function close() {
  $("#decide").close();
}

function labelled(label, control, hint) {
  return el("label", { class: "field" }, el("span", { class: "label", text: label }), control, hint ? el("small", { class: "muted", text: hint }) : null);
}

async function reasonSelect(name, catalogue, catalogueFor, label) {
  const reasons = await catalogueFor(catalogue);
  const select = el("select", { name, required: true }, el("option", { value: "", text: "choose a reason" }));
  for (const r of reasons) select.append(new Option(r.displayText, r.code));
  return labelled(label, select);
}

// The form's controls for one decision's fields; `read` turns them into the mutation's values.
async function controls(fields, request, catalogueFor) {
  const nodes = [];
  for (const f of fields) {
    if (f.kind === "reason") nodes.push(await reasonSelect(f.name, f.catalogue, catalogueFor, f.label));
    else if (f.kind === "comment") {
      nodes.push(labelled(f.label, el("textarea", { name: f.name, rows: "3", maxlength: "500", required: f.required })));
    } else if (f.kind === "check") {
      nodes.push(el("label", { class: "check" }, el("input", { type: "checkbox", name: f.name }), ` ${f.label}`));
    } else if (f.kind === "text") {
      nodes.push(labelled(f.label, el("input", { name: f.name, maxlength: "64", required: f.required, autocomplete: "off" })));
    } else if (f.kind === "money") {
      const currency = request.lines[0].subtotal.currency;
      // The currency's minor unit is the smallest step (0.01 for USD, 1 for JPY).
      const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
      const step = digits ? `0.${"0".repeat(digits - 1)}1` : "1";
      nodes.push(
        labelled(
          `${f.label} (${currency})`,
          el("input", { name: f.name, type: "number", min: step, step, required: true, inputmode: "decimal", dataset: { currency } }),
          `at most what is refundable for the lines chosen`,
        ),
      );
    } else if (f.kind === "lines") {
      nodes.push(
        el(
          "fieldset",
          { class: "lines-field" },
          el("legend", { text: f.label }),
          request.lines.map((l) =>
            labelled(
              `${l.title} (${money(l.unitPrice)} each, asked ${l.quantity})`,
              el("input", { type: "number", name: `line:${l.lineId}`, min: "0", max: String(l.quantity), value: String(l.quantity), required: true, dataset: { asked: String(l.quantity) } }),
            ),
          ),
        ),
      );
    }
  }
  return nodes;
}

function read(fields, form) {
  const values = {};
  for (const f of fields) {
    if (f.kind === "lines") {
      const inputs = [...form.querySelectorAll("input[name^='line:']")];
      const asAsked = inputs.every((i) => Number(i.value) === Number(i.dataset.asked));
      // As asked: the API's default; else only the lines kept, with their quantities.
      values.lines = asAsked
        ? null
        : inputs.filter((i) => Number(i.value) > 0).map((i) => ({ lineId: i.name.slice(5), quantity: Number(i.value) }));
    } else if (f.kind === "check") {
      values[f.name] = form.elements[f.name].checked;
    } else if (f.kind === "money") {
      const input = form.elements[f.name];
      values[f.name] = { amount: input.value, currency: input.dataset.currency };
    } else {
      const text = form.elements[f.name].value.trim();
      values[f.name] = text || null;
    }
  }
  return values;
}

function resultError(result) {
  if (!result.code) return null;
  return `${result.code}: ${result.message}`;
}

export async function openDecision(decision, resultFields, request, catalogueFor, identity, onDone) {
  const fields = await controls(decision.fields, request, catalogueFor);
  if (decision.text) fields.unshift(el("p", { class: "muted", text: decision.text }));
  const key = newKey();
  show(decision.title, decision.label, decision.style, fields, async () => {
    const input = { ...decision.input(read(decision.fields, $("#decide-form"))), idempotencyKey: key };
    const doc = `mutation Decide($input: ${decision.inputType}!) { result: ${decision.mutation}(input: $input) { ${resultFields} } }`;
    try {
      const { result } = await gql(identity, doc, { input });
      const error = resultError(result);
      if (!error) onDone(decision.label, result);
      return error;
    } catch (error) {
      return error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
    }
  });
}

// Bulk: accept as asked, or reject with one reason (one both catalogues of the rows know) and a
// comment (required when a replacement is among them).
export async function openBulk(kind, nodes, section, catalogueFor, run) {
  const list = el("ul", { class: "bulk-list" }, nodes.map((n) => el("li", { text: `${n.id} · ${n.buyerId} · ${words(n.kind || "cancellation")}` })));
  if (kind === "accept") {
    show(`Accept ${nodes.length} requests`, "Accept all", "primary", [el("p", { text: "Each is approved as the buyer asked; each row gets its own result." }), list], async () => {
      await run(section.bulkAccept);
      return null;
    });
    return;
  }
  const names = [...new Set(nodes.map((n) => section.bulkRejectCatalogue(n)))];
  const catalogues = await Promise.all(names.map((n) => catalogueFor(n)));
  const common = catalogues[0].filter((r) => catalogues.every((c) => c.some((o) => o.code === r.code)));
  const select = el("select", { name: "reason", required: true }, el("option", { value: "", text: "choose a reason" }));
  for (const r of common) select.append(new Option(r.displayText, r.code));
  const needsComment = nodes.some((n) => n.kind === "REPLACEMENT");
  const comment = el("textarea", { name: "comment", rows: "3", maxlength: "500", required: needsComment });
  show(
    `Reject ${nodes.length} requests`,
    "Reject all",
    "danger",
    [list, labelled("Reason", select), labelled(needsComment ? "Comment (required)" : "Comment (to the buyer)", comment)],
    async () => {
      const reason = select.value;
      const text = comment.value.trim();
      await run((node) => section.bulkReject(node, reason, text));
      return null;
    },
  );
}
