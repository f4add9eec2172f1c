/**
 * A LangGraph ReAct agent with any tools and any script, for the misbehaving runs of the two LangChain
 * instrumentation tests (their normal run is `../langchain.ts`, the one the fixtures recorded). The
 * tools call HTTP APIs with fetch, so their spans arrive parentless, as in the normal run.
 */
import { AIMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { z } from 'zod';
import { ScriptedChatModel } from '../langchain.js';

/** A tool that sends one HTTP request built from its arguments, and throws on an error status. */
export interface HttpTool {
  name: string;
  request(args: Record<string, string | number>): { url: string; init?: RequestInit };
}

export const say = (text: string) => new AIMessage(text);
export const callTool = (id: string, name: string, args: Record<string, string | number>) => new AIMessage({ content: '', tool_calls: [{ id, name, args }] });

/** One run of the agent `support`: each scripted turn calls one tool (so each tool span holds one call). */
export async function runScriptedAgent(tools: HttpTool[], script: AIMessage[]): Promise<void> {
  const lcTools = tools.map((t) =>
    tool(
      async (args) => {
        const { url, init } = t.request(args as Record<string, string | number>);
        const res = await fetch(url, init);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return JSON.stringify(await res.json());
      },
      { name: t.name, description: t.name, schema: z.record(z.string(), z.union([z.string(), z.number()])) },
    ),
  );
  const agent = createReactAgent({ llm: new ScriptedChatModel(script), tools: lcTools, name: 'support' });
  await agent.invoke({ messages: [{ role: 'user', content: 'help with ticket 7' }] });
}
