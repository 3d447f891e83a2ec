/**
 * The MultiWOZ databases of this workspace (data/db/), shared by tools.ts and environment.ts. The JSON files are
 * imported, not read at run time: AgentChord bundles workspace modules with esbuild into a temp folder, so a path
 * next to this file would not exist there, while an import is resolved (and the data bundled in) at build time.
 */
import attraction from './data/db/attraction_db.json';
import hotel from './data/db/hotel_db.json';
import restaurant from './data/db/restaurant_db.json';
import taxi from './data/db/taxi_db.json';
import train from './data/db/train_db.json';
import { multiwozDbFromTables } from '../../src/evals/multiwoz/db';

export const db = multiwozDbFromTables({ restaurant, hotel, attraction, train, taxi }, 'examples/multiwoz/data/db');
