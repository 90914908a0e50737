{#-
    VIP early access: the customers worth the most, invited before a launch or a sale. In:
    lifecycle active, and RFM "Champions" or the top value decile (predicted 12-month value),
    and a purchase propensity in the top var `vip_max_purchase_decile` deciles.
-#}
with

customers as (

    select * from {{ ref('customer_360') }}

),

final as (

    select {{ audience_columns('vip_early_access') }}
    from customers
    where
        lifecycle_stage = 'active'
        and (rfm_segment = 'Champions' or value_decile = 1)
        and purchase_decile <= {{ var('vip_max_purchase_decile') }}

)

select * from final
