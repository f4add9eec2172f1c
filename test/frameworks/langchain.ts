/**
 * A LangGraph ReAct agent driven by a scripted chat model, shared by the two LangChain instrumentation
 * tests (OpenInference and Traceloop). The tools call the loopback API with fetch: LangChain runs them
 * outside any span's context, so those HTTP spans arrive parentless, each in a trace of its own — the
 * case context repair exists for.
 */
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { tool } from '@langchain/core/tools';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { z } from 'zod';

/** A chat model that answers with the next scripted message, whatever it is asked. */
export class ScriptedChatModel extends BaseChatModel {
  private turn = 0;
  constructor(private readonly script: AIMessage[]) {
    super({});
  }
  _llmType(): string {
    return 'scripted';
  }
  // The agent binds its tools; the script already knows which to call.
  override bindTools(): this {
    return this;
  }
  async _generate(_messages: BaseMessage[]): Promise<ChatResult> {
    const message = this.script[this.turn++] ?? new AIMessage('done');
    return { generations: [{ message, text: typeof message.content === 'string' ? message.content : '' }] };
  }
}

const call = (id: string, name: string, args: Record<string, unknown>) => new AIMessage({ content: '', tool_calls: [{ id, name, args }] });

/**
 * One run: look the ticket up (GET), then close it (DELETE, which the API refuses with a 500, so the tool
 * throws), then answer. One tool per turn, so every tool span holds exactly one call.
 */
export async function runLangGraphAgent(apiUrl: string): Promise<void> {
  const fetchJson = async (url: string, init?: RequestInit) => {
    const res = await fetch(url, init);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return JSON.stringify(await res.json());
  };
  const getTicket = tool(async ({ id }) => fetchJson(`${apiUrl}/tickets/${id}`), {
    name: 'get_ticket',
    description: 'Reads a ticket',
    schema: z.object({ id: z.number() }),
  });
  const closeTicket = tool(async ({ id }) => fetchJson(`${apiUrl}/fail/tickets/${id}`, { method: 'DELETE' }), {
    name: 'close_ticket',
    description: 'Closes a ticket',
    schema: z.object({ id: z.number() }),
  });
  const model = new ScriptedChatModel([call('c1', 'get_ticket', { id: 7 }), call('c2', 'close_ticket', { id: 7 }), new AIMessage('could not close 7')]);
  const agent = createReactAgent({ llm: model, tools: [getTicket, closeTicket], name: 'support' });
  await agent.invoke({ messages: [{ role: 'user', content: 'close ticket 7' }] });
}
