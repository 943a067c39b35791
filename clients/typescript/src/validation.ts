// Flow validation with FlowMonkey's rules and messages (its validateFlow), and its error
// classes' shape (FlowMonkeyError → FlowValidationError, code FLOW_INVALID), so a flow that
// FlowMonkey's registry rejects is rejected here, synchronously, with the same message,
// before anything is sent to the server.
import type { Flow, ValidationIssue } from './types';

/** The shape of FlowMonkey's FlowMonkeyError: an Error with a code. */
export class FlowMonkeyError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'FlowMonkeyError';
  }
}

/** Thrown by register() for an invalid flow: `Flow "<id>" is invalid: <first issue's message>`. */
export class FlowValidationError extends FlowMonkeyError {
  constructor(readonly flowId: string, readonly issues: ValidationIssue[]) {
    super('FLOW_INVALID', `Flow "${flowId}" is invalid: ${issues[0]?.message}`);
    this.name = 'FlowValidationError';
  }
}

const issue = (path: string, message: string): ValidationIssue => ({ path, message, severity: 'error' });

/** Every problem FlowMonkey's validateFlow reports, in its order, with its paths and messages. */
export function validateFlow(flow: Flow): ValidationIssue[] {
  const found: ValidationIssue[] = [];
  for (const field of ['id', 'version', 'initialStepId'] as const) {
    if (!flow[field]) found.push(issue(field, 'Required'));
  }
  const steps = flow.steps || {};
  if (Object.keys(steps).length === 0) {
    found.push(issue('steps', 'At least one step required'));
    return found;
  }
  // A plain property read, as FlowMonkey's (so an inherited name such as "toString" counts too).
  const exists = (id: string) => !!(steps as Record<string, unknown>)[id];
  if (flow.initialStepId && !exists(flow.initialStepId)) {
    found.push(issue('initialStepId', `Step "${flow.initialStepId}" not found`));
  }
  for (const [key, step] of Object.entries(steps)) {
    if (step.id !== key) found.push(issue(`steps.${key}.id`, `ID mismatch: "${step.id}" vs key "${key}"`));
    if (!step.type) found.push(issue(`steps.${key}.type`, 'Required'));
    if (!step.input) found.push(issue(`steps.${key}.input`, 'Required'));
    const transitions = step.transitions;
    for (const name of ['onSuccess', 'onFailure', 'onResume'] as const) {
      const target = transitions?.[name];
      if (target && !exists(target)) found.push(issue(`steps.${key}.transitions.${name}`, `"${target}" not found`));
    }
  }
  return found;
}
