{#-
    Connected components by min-label propagation, unrolled into a bounded number of passes.

    Emits CTEs (no leading `with`, no trailing comma) ending in one called `<name>`:
    node_id, label (the smallest node_id in the node's component once converged) and
    changed_in_pass (the last pass that lowered the node's label; 0 if none did).

    `nodes` is a relation or CTE with `node_id`; `edges` one with `left_node_id` and
    `right_node_id` (both in `nodes`). Each pass gives every node the smallest label among
    itself and its neighbours: one hash join of the 2E + N directed rows with the N labels and
    one group by, so a pass costs O(E + N) and the whole O(passes * (E + N)). Each pass reads
    the previous one exactly once, so the chain is a plain pipeline on DuckDB and PostgreSQL
    (no recursion, no path enumeration). After k passes a label has travelled k hops: the
    result is exact when every component's diameter is at most `passes`, which the
    `identity_labels_converged` test checks on the output.
-#}
{% macro identity_label_passes(name, nodes, edges, passes) -%}
{{ name }}_directed as (

    select
        left_node_id as from_node_id,
        right_node_id as to_node_id
    from {{ edges }}
    union all
    select
        right_node_id as from_node_id,
        left_node_id as to_node_id
    from {{ edges }}
    union all
    select
        node_id as from_node_id,
        node_id as to_node_id
    from {{ nodes }}

),

{{ name }}_pass_0 as (

    select
        node_id,
        node_id as label,
        0 as changed_in_pass
    from {{ nodes }}

),
{% for pass in range(1, passes + 1) %}
{{ name }}_pass_{{ pass }} as (

    select
        directed.to_node_id as node_id,
        min(previous.label) as label,
        case
            when
                min(previous.label) < min(
                    case when directed.from_node_id = directed.to_node_id then previous.label end
                )
                then {{ pass }}
            else max(
                case
                    when directed.from_node_id = directed.to_node_id
                        then previous.changed_in_pass
                end
            )
        end as changed_in_pass
    from {{ name }}_directed as directed
    inner join {{ name }}_pass_{{ pass - 1 }} as previous
        on directed.from_node_id = previous.node_id
    group by directed.to_node_id

),
{% endfor %}
{{ name }} as (

    select
        node_id,
        label,
        changed_in_pass
    from {{ name }}_pass_{{ passes }}

)
{%- endmacro %}
